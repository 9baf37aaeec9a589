import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore, NO_UPCASTING } from '../../core/eventstore';
import { acquirePartitionLease, eventFeedSource, runFeedProcessor } from '../../core/processing';
import { startAnswerDroppingProxy, type AnswerDroppingProxy } from '../support/answerDroppingProxy';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, sleep, uniqueStreamId } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { onePartitionProcessor } from '../support/onePartitionProcessor';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let database: TestDatabase;
let direct: Db;
let proxied: Db;
let proxy: AnswerDroppingProxy;

beforeAll(async () => {
  database = await createTestDatabase();
  direct = createPgDb({ connectionString: database.url, max: 2 });
  const url = new URL(database.url);
  proxy = await startAnswerDroppingProxy(Number(url.port || 5432), 'UPDATE partition_leases SET holder = NULL');
  url.port = String(proxy.port);
  // A query bound, as DB_QUERY_TIMEOUT_MS sets one: the lost answer is given up on, and the release tried again.
  proxied = createPgDb({ connectionString: url.toString(), max: 2, queryTimeoutMs: 1_000 });
});

afterAll(async () => {
  await proxied.close();
  await direct.close();
  await proxy.close();
  await database.drop();
});

const runOn = (processor: Parameters<typeof runFeedProcessor>[0]) =>
  runFeedProcessor(processor, { db: proxied, holder: 'the-only-instance', leaseTtlMs: 30_000, deadline: Date.now() + 20_000, concurrency: 1 });

describe('a run whose lease release committed but whose answer was lost on the way back', () => {
  it('does not say it lost the partition: no other instance ever held it', async () => {
    const { source, events } = await newStreamSource(direct, [opened(), deposited(1)]);
    const processor = onePartitionProcessor('release_answer_lost', source, { mode: 'transactional', handle: () => Promise.resolve() });
    proxy.arm();

    const run = await runOn(processor);

    expect(proxy.dropped()).toBe(1);
    const { rows } = await direct.query<{ holder: string | null; epoch: string }>('SELECT holder, epoch::text FROM partition_leases WHERE lease_group = $1', [processor.name]);
    expect(rows).toEqual([{ holder: null, epoch: '1' }]);
    expect({ items: run.items, caughtUp: run.caughtUp, leaseLost: run.leaseLost }).toEqual({ items: events.length, caughtUp: true, leaseLost: [] });
  });

  it('still looks past the partition it gave back, and handles what was committed after its last read', async () => {
    const store = createEventStore(direct);
    const streamId = uniqueStreamId();
    await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
    await untilFeedHorizonPasses(direct);
    const source = eventFeedSource({ upcaster: NO_UPCASTING, partitionKey: (event) => (event.streamId === streamId ? streamId : null) });
    const handled: string[] = [];
    const processor = onePartitionProcessor('release_answer_lost_look_past', source, {
      mode: 'transactional',
      handle: (items) => {
        handled.push(...items.map((item) => item.type));
        return Promise.resolve();
      },
    });
    // Committed after the drain's last read, before its release: what the look past the partition is for.
    proxy.arm(async () => {
      await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 2, events: [deposited(2)] });
      await untilFeedHorizonPasses(direct);
    });

    const run = await runOn(processor);

    expect(handled).toEqual(['AccountOpened', 'MoneyDeposited', 'MoneyDeposited']);
    expect(run.leaseLost).toEqual([]);
  });

  it('given the freed partition claimed by another instance before the release is tried again, still does not say it lost the partition', async () => {
    const { source, events } = await newStreamSource(direct, [opened(), deposited(1)]);
    const processor = onePartitionProcessor('release_answer_lost_then_claimed', source, { mode: 'transactional', handle: () => Promise.resolve() });
    const claimed: string[] = [];
    // Once the release has committed (unseen by the run), another instance claims the free partition, as any acquirer would.
    proxy.arm(() => {
      void (async () => {
        for (let look = 0; look < 50 && claimed.length === 0; look++) {
          await sleep(20);
          const lease = await acquirePartitionLease(direct, { group: processor.name, partitions: 1, holder: 'another-instance', ttlMs: 30_000 });
          if (lease) claimed.push(lease.holder);
        }
      })();
      return Promise.resolve();
    });

    const run = await runOn(processor);

    expect(claimed).toEqual(['another-instance']);
    expect({ items: run.items, caughtUp: run.caughtUp, leaseLost: run.leaseLost }).toEqual({ items: events.length, caughtUp: true, leaseLost: [] });
  });
});
