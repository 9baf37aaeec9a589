import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createPgDb, DatabaseTimeoutError, type Db } from '../../core/db';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy';
import { expectDeliveredOnceInOrder, publishEverything, startPublishingHarness, type PublishingHarness } from './publishingHarness';

let harness: PublishingHarness;

beforeAll(async () => {
  harness = await startPublishingHarness();
});

afterAll(async () => {
  await harness.close();
});

const BOUND_MS = 500;
const EVENTS_PER_STREAM = 6;

/** The database's address through `proxy`, which can make it go silent. */
function throughProxy(url: string, proxy: TcpProxy): string {
  const address = new URL(url);
  address.hostname = '127.0.0.1';
  address.port = String(proxy.port);
  return address.toString();
}

/** A Db whose server goes silent, connections open and new alike, right after the first checkpoint a batch stored. */
function silentAfterFirstCheckpoint(db: Db, proxy: TcpProxy): Db {
  const silenceAfter = async <T>(answer: Promise<T>, name: string | undefined, params: readonly unknown[] | undefined) => {
    const result = await answer;
    // The fenced checkpoint write's fifth parameter counts the batch's items: an idle poll's write does not count.
    if (name === 'processor_advance_fenced' && Number(params?.[4]) > 0) proxy.silenceAll();
    return result;
  };
  return {
    query: (text, params, options) => silenceAfter(db.query(text, params, options), options?.name, params),
    transaction: (work) =>
      db.transaction((tx) => work({ query: (text, params, options) => silenceAfter(tx.query(text, params, options), options?.name, params) })),
    close: () => db.close(),
  };
}

async function streamsOfDeposits(count: number): Promise<string[]> {
  const streamIds = Array.from({ length: count }, () => uniqueStreamId());
  for (const streamId of streamIds) {
    const deposits = Array.from({ length: EVENTS_PER_STREAM - 1 }, (_, index) => deposited(index + 1));
    await harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), ...deposits] });
  }
  return streamIds;
}

describe('a database that stops answering in the middle of a publisher run', () => {
  it('given bounds on waiting for the database, when it goes silent after a batch, then the run fails with DatabaseTimeoutError within a few bounds, and a publisher on a live database sends every event once, in order', async () => {
    const streamIds = await streamsOfDeposits(3);
    // Readable by the run, whatever other files' transactions hold the feed's horizon back.
    await untilFeedHorizonPasses(harness.db);
    const proxy = await startTcpProxy(5432);
    onTestFinished(() => proxy.close());
    const pool = createPgDb({ connectionString: throughProxy(harness.database.url, proxy), max: 3, connectTimeoutMs: BOUND_MS, queryTimeoutMs: BOUND_MS });
    onTestFinished(() => pool.close());
    const publisher = harness.publisher({ db: silentAfterFirstCheckpoint(pool, proxy), partitions: 1, batchSize: 4 });

    const started = performance.now();
    const failure = await publisher.run({ deadline: Date.now() + 60_000 }).then(
      (report) => report,
      (error: unknown) => error,
    );
    const took = performance.now() - started;

    // The statements after the silence each give up at the bound: the run ends long before its deadline.
    expect(proxy.accepted()).toBeGreaterThan(0);
    expect(took).toBeLessThan(10 * BOUND_MS + 3_000);
    const errors = failure instanceof AggregateError ? failure.errors : [failure];
    expect(errors.some((error) => error instanceof DatabaseTimeoutError), String(failure)).toBe(true);

    // Its lease runs out unreleased; a publisher on a live database then sends the rest, and nothing twice.
    await publishEverything(harness.db, harness.publisher({ partitions: 1 }));
    await expectDeliveredOnceInOrder(harness, streamIds, EVENTS_PER_STREAM);
  });
});
