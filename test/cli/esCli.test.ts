import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bankCommands, bankService, defineAccountSummaries } from '../../core/bank';
import { createInProcessDispatcher } from '../../core/commands';
import { createPgDb, type Db } from '../../core/db';
import { FEED_SCAN_BOUND } from '../../core/eventstore';
import { acquirePartitionLease } from '../../core/processing';
import { getProjectionStatus, processorNameOf, registerProjection, type Projection, type Projector, type ProjectorRun } from '../../core/projections';
import { parkMessages } from '../../core/publishing';
import { createServiceRuntime, defineService, type ServiceRuntime } from '../../core/service';
import { parseArguments } from '../../scripts/cli/cliArguments';
import { COMMANDS } from '../../scripts/cli/cliCommands';
import { recordingProjection } from '../projections/support/recordingProjection';
import { runSagasUntilSettled } from '../sagas/support/settle';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { sleep } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

// Short, so the spec waits it out quickly; long enough to count the CLI's polls while it stands.
const ELSEWHERE_LEASE_MS = 2_000;

/** The ops CLI as a person runs it: `npm run es -- <command>`, each in a process of its own. */
describe('npm run es', () => {
  let database: TestDatabase;
  let db: Db;
  let runtime: ServiceRuntime;

  const es = async (...words: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/es.ts', ...words], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: database.url, POWERTOOLS_LOG_LEVEL: 'SILENT' },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };

  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    const migrated = await es('migrate');
    expect(migrated.stdout).toContain(`migrated 127.0.0.1:5432/${database.name}`);
    db = createPgDb({ connectionString: database.url, max: 4 });
    runtime = createServiceRuntime(bankService, { db, dispatcher: (runPending) => createInProcessDispatcher(runPending) });
    const execute = (type: string, payload: object, ids: object = {}) => runtime.bus.execute({ type, payload, ...ids });
    for (const accountId of ['cli-ada', 'cli-bob']) await execute('OpenAccount', { accountId, owner: accountId, currency: 'EUR' });
    await execute('Deposit', { accountId: 'cli-ada', amount: 80 });
    await execute('RequestTransfer', { transferId: 'cli-t', fromAccountId: 'cli-ada', toAccountId: 'cli-bob', amount: 30, currency: 'EUR' }, { correlationId: 'cli-story' });
    await runSagasUntilSettled(runtime);
    await untilFeedHorizonPasses(db);
    await runtime.projector.runUntilCaughtUp();
  }, 60_000);
  afterAll(async () => {
    await db.close();
    await database.drop();
  });

  /** A service in this process whose one projection, by default account summaries under `name` (one partition), serves at g1. */
  const servingHere = async (name: string, projection: Projection = defineAccountSummaries({ name, partitions: 1 })): Promise<ServiceRuntime> => {
    const here = createServiceRuntime(defineService({ name: 'bank', commands: bankCommands, projections: [projection] }), {
      db,
      dispatcher: (runPending) => createInProcessDispatcher(runPending),
    });
    await here.projector.runUntilCaughtUp();
    return here;
  };

  /** `projections rebuild <name>` run in this process, each of its projector's runs made through `around`: what it printed. */
  const rebuildHere = async (here: ServiceRuntime, name: string, around: (run: () => Promise<ProjectorRun>) => Promise<ProjectorRun>): Promise<string> => {
    const projector: Projector = {
      holder: here.projector.holder,
      runUntilCaughtUp: (options) => around(() => here.projector.runUntilCaughtUp(options)),
    };
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk));
      return true;
    });
    try {
      await COMMANDS['projections rebuild']?.({ runtime: { ...here, projector }, args: parseArguments(['projections', 'rebuild', name]), json: false });
    } finally {
      vi.restoreAllMocks();
    }
    return printed.join('');
  };

  it('lists streams and shows one, in human form and as JSON', async () => {
    const listed = await es('streams', 'ls', '--prefix', 'account-cli');
    expect(listed.stdout.trim().split('\n').map((line) => line.split(/\s+/).slice(0, 3).join(' '))).toEqual(['account-cli-ada account 3', 'account-cli-bob account 2']);
    const shown = JSON.parse((await es('streams', 'show', 'account-cli-ada', '--json')).stdout) as { events: { type: string }[] };
    expect(shown.events.map((event) => event.type)).toEqual(['AccountOpened', 'MoneyDeposited', 'MoneyWithdrawn']);
  });

  it('shows an event, a request’s story as a tree, and the feed’s tail', async () => {
    const { rows } = await db.query<{ event_id: string }>("SELECT event_id FROM events WHERE stream_id = 'transfer-cli-t' AND version = 1");
    const eventId = rows[0]?.event_id ?? '';
    expect(JSON.parse((await es('events', 'show', eventId)).stdout)).toMatchObject({ event: { type: 'TransferRequested' }, links: { correlation: '/browser/api/correlations/cli-story' } });
    const story = await es('correlation', 'cli-story');
    expect(story.stdout).toContain('▸ RequestTransfer (succeeded)');
    expect(story.stdout).toMatch(/\n {2}• TransferRequested transfer-cli-t@1/);
    const tail = await es('feed', 'tail', '--limit', '2');
    expect(tail.stdout).toContain('TransferCompleted');
    expect(tail.stdout.trim().split('\n')).toHaveLength(2);
    // The last two of that type, however many others came after them.
    const deposits = await es('feed', 'tail', '--type', 'AccountOpened', '--limit', '2');
    expect(deposits.stdout.trim().split('\n').map((line) => line.split(/\s+/)[1])).toEqual(['account-cli-ada@1', 'account-cli-bob@1']);
  });

  it('pages lists: --limit per page, and --cursor the nextCursor a page gave', async () => {
    const first = JSON.parse((await es('streams', 'ls', '--prefix', 'account-cli', '--limit', '1', '--json')).stdout) as { streams: { streamId: string }[]; nextCursor: string };
    const second = JSON.parse((await es('streams', 'ls', '--prefix', 'account-cli', '--limit', '1', '--cursor', first.nextCursor, '--json')).stdout) as { streams: { streamId: string }[] };
    expect([...first.streams, ...second.streams].map((stream) => stream.streamId)).toEqual(['account-cli-ada', 'account-cli-bob']);
    const human = await es('streams', 'ls', '--prefix', 'account-cli', '--limit', '1');
    expect(human.stdout.trim().split('\n').at(-1)).toBe(`next page: --cursor ${first.nextCursor}`);
  });

  it('pages parked messages: --json gives each page with its nextCursor, and the human form ends with the next --cursor', async () => {
    const { rows } = await db.query<{ event_id: string }>("SELECT event_id FROM events WHERE stream_id = 'account-cli-ada' ORDER BY event_id");
    const ids = rows.map((row) => row.event_id);
    await parkMessages(db, 'events', ids.map((messageId) => ({ messageId, orderingKey: 'account-cli-ada', subject: 'events.account.Any', error: 'MAX_PAYLOAD_EXCEEDED' })));
    try {
      const listed: string[] = [];
      let cursor: string | null = null;
      do {
        const page = JSON.parse((await es('publishing', 'parked', '--limit', '1', '--json', ...(cursor === null ? [] : ['--cursor', cursor]))).stdout) as { parked: { messageId: string }[]; nextCursor: string | null };
        listed.push(...page.parked.map((message) => message.messageId));
        cursor = page.nextCursor;
      } while (cursor !== null && listed.length < ids.length);
      expect([listed, cursor]).toEqual([ids, null]);

      const human = (await es('publishing', 'parked', '--limit', '2')).stdout.trim().split('\n');
      const next = human.at(-1)?.match(/--cursor (\S+)$/)?.[1] ?? '';
      expect(human.slice(0, 2).map((line) => line.split(/\s+/)[0])).toEqual(ids.slice(0, 2));
      expect((await es('publishing', 'parked', '--cursor', next)).stdout.trim().split('\n').map((line) => line.split(/\s+/)[0])).toEqual(ids.slice(2));
    } finally {
      await db.query('DELETE FROM parked_messages WHERE message_id = ANY ($1::uuid[])', [ids]);
    }
  });

  it('shows and rebuilds projections (a progress bar until the new generation is live), publishing and sagas', async () => {
    expect((await es('projections', 'status')).stdout).toMatch(/account_summaries\s+g1\s+active\s+lag 0/);
    const rebuilt = await es('projections', 'rebuild', 'account_summaries');
    expect(rebuilt.stdout).toContain('100%');
    expect(rebuilt.stdout).toContain('account_summaries g2 is live');
    expect((await es('publishing', 'status')).stdout).toMatch(/parked 0, requeued 0/);
    const { rows } = await db.query<{ event_id: string }>("SELECT event_id FROM events WHERE stream_id = 'account-cli-bob' AND version = 1");
    await parkMessages(db, 'events', [{ messageId: rows[0]?.event_id ?? '', orderingKey: 'account-cli-bob', subject: 'events.account.AccountOpened', error: 'MAX_PAYLOAD_EXCEEDED' }]);
    expect((await es('publishing', 'parked')).stdout).toMatch(/events\s+events\.account\.AccountOpened\s+MAX_PAYLOAD_EXCEEDED/);
    expect((await es('publishing', 'requeue', rows[0]?.event_id ?? '', '--source', 'events')).stdout).toContain(`${rows[0]?.event_id ?? ''} (events) requeued`);
    const discard = await es('publishing', 'discard', rows[0]?.event_id ?? '', '--source', 'events');
    expect([discard.code, discard.stderr.split('\n')[0]]).toEqual([1, expect.stringMatching(/^es: Parked message \S+ is requeued: it goes out, or is parked again, once its publisher has passed it$/) as unknown]);
    // An integration message parked under an id no outbox row has any more: nothing could send it, so it goes, and the operator is told what went.
    const orphan = crypto.randomUUID();
    await parkMessages(db, 'outbox', [{ messageId: orphan, orderingKey: 'notices', subject: 'notices.retired', error: 'MAX_PAYLOAD_EXCEEDED' }]);
    const discarded = await es('publishing', 'discard', orphan, '--source', 'outbox');
    expect(discarded).toMatchObject({ code: 0, stdout: `${orphan} (outbox) discarded: it is never sent\n` });
    expect(discarded.stderr).toMatch(new RegExp(`WARN  a parked message was discarded: it will never be sent .*"messageId":"${orphan}".*"subject":"notices.retired","error":"MAX_PAYLOAD_EXCEEDED"`));
    expect((await es('sagas', 'ls')).stdout).toMatch(/transfer\s+cli-t\s+completed/);
    expect(JSON.parse((await es('sagas', 'show', 'cli-t', '--json')).stdout)).toMatchObject({ instances: [{ phase: 'completed' }] });
  });

  it('rebuilds at a walking pace while another projector holds the build’s partition, and finishes once that lease runs out', async () => {
    // In this process, so that the projector runs the command makes can be counted.
    // Given `spinning` serving at g1, and a projector elsewhere holding the partition its g2 builds on.
    const here = await servingHere('spinning');
    const leaseEnds = Date.now() + ELSEWHERE_LEASE_MS;
    expect(await acquirePartitionLease(db, { group: processorNameOf('spinning', 2), partitions: 1, holder: 'elsewhere', ttlMs: ELSEWHERE_LEASE_MS })).not.toBeNull();
    const runsStarted: number[] = [];

    // When the CLI rebuilds it.
    const printed = await rebuildHere(here, 'spinning', (run) => {
      runsStarted.push(Date.now());
      return run();
    });

    // Then it polled a few times a second while the lease stood, saying what it waits for, and g2 serves every event.
    const whileLeased = runsStarted.filter((startedAt) => startedAt < leaseEnds);
    expect(whileLeased.length, `${String(whileLeased.length)} projector runs in ${String(ELSEWHERE_LEASE_MS)} ms`).toBeLessThanOrEqual((3 * ELSEWHERE_LEASE_MS) / 1_000);
    expect(printed).toContain('waiting for partitions another projector holds');
    expect(printed).toContain('spinning g2 is live');
    const [status] = await getProjectionStatus(db, 'spinning');
    const { rows } = await db.query<{ count: number }>("SELECT count(*)::int AS count FROM events WHERE stream_id LIKE 'account-%'");
    expect([status?.activeGeneration, status?.generations.at(-1)?.partitions[0]?.eventsApplied]).toEqual([2, rows[0]?.count]);
  });

  it('while another projector holds a build\'s partition whose failure\'s backoff has run out, says it waits for that projector, not that the partition retries at a time gone by', async () => {
    // Given `backed_off` serving at g1.
    const here = await servingHere('backed_off');
    const building = processorNameOf('backed_off', 2);
    let setUp = false;

    // When the CLI rebuilds it: once it has made g2, its partition failed once, a minute ago by the database's clock, and is held elsewhere.
    const printed = await rebuildHere(here, 'backed_off', async (run) => {
      if (!setUp) {
        setUp = true;
        const failedOnce = await db.query(
          "UPDATE processor_partitions SET attempts = 1, last_error = 'an old failure', next_attempt_at = now() - interval '1 minute' WHERE processor = $1",
          [building],
        );
        expect(failedOnce.rowCount).toBe(1);
        expect(await acquirePartitionLease(db, { group: building, partitions: 1, holder: 'elsewhere', ttlMs: ELSEWHERE_LEASE_MS })).not.toBeNull();
      }
      return run();
    });

    // Then it said what it waited for, and g2 went live once the lease ran out.
    expect(printed).toContain('waiting for partitions another projector holds');
    expect(printed).not.toContain('retries at');
    expect(printed).toContain('backed_off g2 is live');
  });

  it('with no other projector anywhere, and a failure whose backoff ran out before the status was read, names the partition and its error rather than another projector', async () => {
    // Given `flaky` serving at g1, whose handler then fails for a while.
    let failing = false;
    const here = await servingHere('flaky', recordingProjection({ name: 'flaky', failOn: () => failing }));
    failing = true;
    let runs = 0;

    // When the CLI rebuilds it, and its first run's failure has waited out its backoff (a second) by the time the status is read.
    const printed = await rebuildHere(here, 'flaky', async (run) => {
      const ran = await run();
      if (++runs === 1) {
        failing = false;
        await sleep(1_200);
      }
      return ran;
    });

    // Then it said the partition goes on after that error, and g2 went live.
    expect(printed).not.toContain('another projector holds');
    expect(printed).toMatch(/partition 0 retries after: Error: refusing/);
    expect(printed).toContain('flaky g2 is live');
  });

  it('stops, naming the newer build, when a deploy of the next version replaces the build it runs, rather than waiting on it for ever', async () => {
    // Given `replaced` serving at g1.
    const here = await servingHere('replaced');
    let replacedBy: number | undefined;

    // When the CLI rebuilds it, and once it has made g2 a deploy of the projection's next version starts g3, which retires g2.
    const rebuilding = rebuildHere(here, 'replaced', async (run) => {
      replacedBy ??= (await registerProjection(db, defineAccountSummaries({ name: 'replaced', partitions: 1, version: 2 }))).at(-1)?.generation;
      return run();
    });
    const stillRunning = sleep(10_000).then(() => 'still rebuilding after 10 s');

    // Then it stops, saying g2 was replaced by g3.
    await expect(Promise.race([rebuilding, stillRunning])).rejects.toThrow('replaced g2 was retired before it went live: a newer build (g3, v2) replaced it');
    expect(replacedBy).toBe(3);
  });

  it('rebuilds a projection to the end though another projection of the code here is older than what serves it', async () => {
    // Given `left_behind` served by its version 2, and code here that has it at version 1 beside `rebuilt`.
    await registerProjection(db, recordingProjection({ name: 'left_behind', version: 2 }));
    const rebuilt = defineAccountSummaries({ name: 'rebuilt', partitions: 1 });
    await registerProjection(db, rebuilt);
    const here = createServiceRuntime(defineService({ name: 'bank', commands: bankCommands, projections: [rebuilt, recordingProjection({ name: 'left_behind', version: 1 })] }), {
      db,
      dispatcher: (runPending) => createInProcessDispatcher(runPending),
    });

    // When the CLI rebuilds `rebuilt`, then the rebuild goes live, its runs passing over `left_behind`.
    expect(await rebuildHere(here, 'rebuilt', (run) => run())).toContain('rebuilt g2 is live');
    const [status] = await getProjectionStatus(db, 'rebuilt');
    expect(status?.activeGeneration).toBe(2);
  });

  it('says in one line what is wrong: a bad argument, an unknown id, an unreachable database', async () => {
    const unknown = await es('streams', 'explode');
    expect([unknown.code, unknown.stderr.split('\n')[0]]).toEqual([1, 'es: unknown command: streams explode']);
    const missing = await es('events', 'show');
    expect(missing.stderr.split('\n')[0]).toBe('es: events show needs an event id');
    const notFound = await es('streams', 'show', 'account-nobody');
    expect(notFound.stderr.trim()).toBe('es: STREAM_NOT_FOUND: No stream account-nobody');
    const option = await es('streams', 'ls', '-x');
    expect([option.code, option.stderr.split('\n')[0]]).toEqual([1, 'es: unknown option -x']);
    const limit = await es('feed', 'tail', '--limit', 'abc');
    expect([limit.code, limit.stderr.split('\n')[0]]).toEqual([1, 'es: --limit must be a whole number from 1 to 200, not abc']);
    const requeue = await es('publishing', 'requeue', 'not-a-uuid');
    expect(requeue.stderr.trim()).toBe('es: PARKED_MESSAGE_NOT_FOUND: No parked message not-a-uuid');
    const { stderr, code } = await run(process.execPath, ['--import', 'tsx', 'scripts/es.ts', 'streams', 'ls'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' },
    }).then(
      () => ({ stderr: '', code: 0 }),
      (error: unknown) => error as { stderr: string; code: number },
    );
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^es: could not reach the database at 127\.0\.0\.1:1\/nowhere: /)]);
  });

  it('restore-check finds nothing wrong on a database written here, and --fix then changes nothing', async () => {
    expect((await es('restore-check')).stdout).toMatch(/^ok: no event lies above/);
    const txIds = async () => (await db.query<{ tx_id: string }>('SELECT tx_id::text FROM events ORDER BY global_position')).rows;
    const before = await txIds();
    expect((await es('restore-check', '--fix')).stdout).toMatch(/^ok: no event lies above/);
    expect(await txIds()).toEqual(before);
  });

  it('tails a type whose last events lie further apart than a filtered page walks', async () => {
    await db.query(
      `INSERT INTO events (stream_id, stream_type, version, event_id, type, data)
       SELECT 'noise-' || g, 'noise', 1, gen_random_uuid(), 'Noise', '{}' FROM generate_series(1, $1::integer) AS g`,
      [FEED_SCAN_BOUND + 5_000],
    );
    await runtime.bus.execute({ type: 'OpenAccount', payload: { accountId: 'cli-cy', owner: 'cy', currency: 'EUR' } });
    await untilFeedHorizonPasses(db);
    const opened = await es('feed', 'tail', '--type', 'AccountOpened', '--limit', '2');
    expect(opened.stdout.trim().split('\n').map((line) => line.split(/\s+/)[1])).toEqual(['account-cli-bob@1', 'account-cli-cy@1']);
  });
});
