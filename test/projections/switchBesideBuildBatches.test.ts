import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING } from '../../core/eventstore';
import { getProcessorStatus, runFeedProcessor, type HandlerFailure } from '../../core/processing';
import { activateIfCaughtUp, defineProjection, generationProcessor, rebuildProjection, registerProjection } from '../../core/projections';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, opened, sleep, type AccountEvent } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { streamIdInPartition } from '../support/streamInPartition';

const db = usePooledTestDatabase(8);

const policy = { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 };

describe('a switch to a build, beside another instance’s build batches, on a projection that keeps one total across its partitions', () => {
  it('neither deadlocks with those batches nor has them counted as handler failures, and switches', async () => {
    // Held by the handler of the event owned by 'gate', which is appended only once the build has caught up.
    const gate = deferred();
    const reachedGate = deferred();
    const projection = defineProjection<AccountEvent>()({
      name: 'shared_totals',
      version: 1,
      partitions: 2,
      streamTypes: ['totals_acct'],
      tables: ['totals'],
      setup: async (tx, { totals }) => {
        await tx.query(`CREATE TABLE ${totals} (id int PRIMARY KEY, accounts int NOT NULL)`);
        await tx.query(`INSERT INTO ${totals} VALUES (1, 0)`);
      },
      handlers: {
        AccountOpened: async (event, { tx, tables }) => {
          await tx.query(`UPDATE ${tables.totals} SET accounts = accounts + 1 WHERE id = 1`);
          if (event.data.owner === 'gate') {
            reachedGate.resolve();
            await gate.promise;
          }
        },
      },
    });
    await registerProjection(db(), projection);
    const build = await rebuildProjection(db(), projection);
    const buildProcessor = generationProcessor(projection, build, NO_UPCASTING, policy);
    const store = createEventStore(db());
    const [p0, p1] = [await streamIdInPartition(db(), 0, 2), await streamIdInPartition(db(), 1, 2)];
    const append = (streamId: string, owner: string) => store.appendToStream({ streamId, streamType: 'totals_acct', expectedVersion: 'any', events: [opened(owner)] });

    // Given a build that caught up (its processor run by itself: no switch yet).
    await append(p0, 'a');
    await append(p1, 'b');
    await untilFeedHorizonPasses(db());
    const first = await runFeedProcessor(buildProcessor, { db: db(), holder: 'build-a', leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: 2 });
    expect(first.caughtUp).toBe(true);

    // When new events arrive in both partitions, and the switch applies partition 0's and pauses in its handler,
    await append(p0, 'gate');
    await append(p1, 'c');
    await untilFeedHorizonPasses(db());
    const switching = activateIfCaughtUp(db(), projection, build, NO_UPCASTING, policy, Date.now() + 20_000).then(
      (outcome) => ({ switched: outcome.switched, error: null as string | null }),
      (error: unknown) => ({ switched: false, error: String(error) }),
    );
    await reachedGate.promise;

    // while another instance runs the build's batches (each would update the total),
    const failures: HandlerFailure[] = [];
    const other = runFeedProcessor(buildProcessor, { db: db(), holder: 'build-b', leaseTtlMs: 30_000, deadline: Date.now() + 20_000, concurrency: 2 }).then(
      (ran) => {
        failures.push(...ran.failures);
        return null;
      },
      (error: unknown) => String(error),
    );
    // (both of its batches waiting on locks the switch holds: the race is on)
    let waiting = 0;
    for (let waited = 0; waited < 200 && waiting < 2; waited++) {
      const { rows } = await db().query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      waiting = rows[0]?.n ?? 0;
      if (waiting < 2) await sleep(50);
    }
    expect(waiting).toBe(2);
    gate.resolve();
    const switched = await switching;
    const otherError = await other;
    const status = await getProcessorStatus(db(), { name: buildProcessor.name, source: buildProcessor.source });

    // then the switch is made, and no batch failed or was counted as failing.
    expect({
      switchError: switched.error,
      switched: switched.switched,
      otherRunError: otherError,
      failures: failures.map((failure) => `p${failure.partition}: ${failure.error.message}`),
      lastErrors: status.map((partition) => partition.lastError),
    }).toEqual({ switchError: null, switched: true, otherRunError: null, failures: [], lastErrors: [null, null] });
  });
});
