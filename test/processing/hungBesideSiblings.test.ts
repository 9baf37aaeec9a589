import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, runFeedProcessor, type FeedProcessor, type TransactionalHandler } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, deposited, opened, openedThenDeposits, sleep } from '../support/fixtures';
import { streamIdInPartition } from '../support/streamInPartition';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let database: TestDatabase;
// The hung run's pool, and another instance's.
let hungPool: Db;
let other: Db;
beforeAll(async () => {
  database = await createTestDatabase();
  hungPool = createPgDb({ connectionString: database.url, max: 3 });
  other = createPgDb({ connectionString: database.url, max: 2 });
  await hungPool.query('CREATE TABLE applied (event_id uuid PRIMARY KEY, holder text NOT NULL)');
});
afterAll(async () => {
  await hungPool.close();
  await other.close();
  await database.drop();
});

const NAME = 'hung_beside_siblings';
// Long enough that the busy sibling keeps its own partition on a loaded runner; the hung batch's
// transaction is then ended at the floor of the idle bound, 10 s.
const TTL_MS = 3_000;
const IDLE_BOUND_MS = 10_000;

const processorWith = (handle: TransactionalHandler<RecordedEvent, void>['handle']): FeedProcessor<RecordedEvent> => ({
  name: NAME,
  partitions: 2,
  batchSize: 1,
  source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: [NAME] }),
  failurePolicy: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 10 },
  handler: { mode: 'transactional', handle },
});

describe('a batch hung in its transaction while its run\'s other drains go on committing', () => {
  it('loses its partition once the server ends its idle transaction: the siblings\' commits no longer renew its lease', async () => {
    const store = createEventStore(hungPool);
    const hungStream = await streamIdInPartition(hungPool, 0, 2);
    const busyStream = await streamIdInPartition(hungPool, 1, 2);
    const hungEvents = await store.appendToStream({ streamId: hungStream, streamType: NAME, expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
    // Far more than the sibling gets through before the takeover, a batch of one at a time: it commits all along.
    await store.appendToStream({ streamId: busyStream, streamType: NAME, expectedVersion: 'no_stream', events: openedThenDeposits(400) });
    await untilFeedHorizonPasses(hungPool);

    // Given a run draining both partitions at once, whose handler on partition 0 awaits a promise that never settles,
    const hanging = deferred();
    const hangs = deferred();
    const siblingCommits: number[] = [];
    const hungRun = runFeedProcessor(
      processorWith(async (items, { tx, partition }) => {
        if (partition === 0) {
          hanging.resolve();
          await hangs.promise;
        }
        await sleep(50);
        for (const item of items) await tx.query('INSERT INTO applied VALUES ($1, $2)', [item.eventId, 'hung']);
        if (partition === 1) siblingCommits.push(Date.now());
      }),
      { db: hungPool, holder: 'hung', leaseTtlMs: TTL_MS, deadline: Date.now() + 40_000, concurrency: 2 },
    );
    const hungRunSettled = hungRun.then(
      () => 'resolved',
      () => 'rejected',
    );
    await Promise.race([hanging.promise, hungRunSettled]);
    const hungSince = Date.now();

    // when another instance looks for work again and again,
    const successor = processorWith(async (items, { tx }) => {
      for (const item of items) await tx.query('INSERT INTO applied VALUES ($1, $2)', [item.eventId, 'successor']);
    });
    let tookOverAt: number | undefined;
    while (tookOverAt === undefined && Date.now() - hungSince < 45_000) {
      await sleep(500);
      await runFeedProcessor(successor, { db: other, holder: 'successor', leaseTtlMs: TTL_MS, deadline: Date.now() + 2_000, concurrency: 1 });
      const { rows } = await other.query<{ count: string }>("SELECT count(*) FROM applied WHERE holder = 'successor' AND event_id = ANY($1::uuid[])", [
        hungEvents.events.map((event) => event.eventId),
      ]);
      if (Number(rows[0]?.count) === 2) tookOverAt = Date.now();
    }

    // then it takes the hung partition over once the idle bound has ended its batch, while the busy sibling still commits;
    expect(tookOverAt).toBeDefined();
    const takenAfterMs = (tookOverAt ?? 0) - hungSince;
    // The server's idle clock started at the batch's last statement, a moment before the spec heard of it.
    expect(takenAfterMs).toBeGreaterThanOrEqual(IDLE_BOUND_MS - 1_000);
    // let go, the hung handler finds its transaction ended and writes nothing.
    hangs.resolve();
    expect(await hungRunSettled).toBe('resolved');
    expect(Math.max(...siblingCommits)).toBeGreaterThan(tookOverAt ?? Number.POSITIVE_INFINITY);
    const { rows } = await other.query<{ holder: string }>('SELECT holder FROM applied WHERE event_id = ANY($1::uuid[])', [hungEvents.events.map((event) => event.eventId)]);
    expect(rows.map((row) => row.holder)).toEqual(['successor', 'successor']);
  }, 90_000);
});
