import { createPgDb, type Db } from '../../core/db';
import { bankService, defineAccountSummaries } from '../../core/bank';
import { createEventStore } from '../../core/eventstore';
import { createProjector, generationTableName, registerProjection } from '../../core/projections';
import { compareInterleaved, type Comparison } from '../support/compareInterleaved';
import { withPlainPool } from '../support/connections';
import { startThroughput, type Throughput } from '../support/measureThroughput';
import { printPlansAsRun } from '../support/plansAsRun';
import { measureHandWrittenCatchUp } from './handWrittenCatchUp';
import { accountHistory, expectSummaries, type CatchUpScenario } from './catchUpScenario';

/** Appends each account's history, 100 events per append. */
async function fillAccounts(url: string, scenario: CatchUpScenario): Promise<number> {
  const db = createPgDb({ connectionString: url, max: 4 });
  const store = createEventStore(db);
  try {
    for (let index = 0; index < scenario.accounts; index += 1) {
      const events = accountHistory(`owner ${index}`, scenario);
      for (let from = 0; from < events.length; from += 100) {
        await store.appendToStream({ streamId: `account-${index}`, streamType: 'account', expectedVersion: from, events: events.slice(from, from + 100) });
      }
    }
  } finally {
    await db.close();
  }
  return scenario.accounts * scenario.eventsPerAccount;
}

/** Whether a statement reads a page of the feed (through read_feed_window, or read_feed_page where a partition has no filter). */
const readsFeedPage = (text: string) => text.includes('read_feed_window') || text.includes('read_feed_page');

/** A Db that remembers the first statement reading a page of the feed, to show its plan afterwards. */
function capturingFeedReads(db: Db, captured: { text?: string; params?: readonly unknown[] }): Db {
  return {
    ...db,
    query: (text, params, options) => {
      if (captured.text === undefined && readsFeedPage(text)) Object.assign(captured, { text, params });
      return db.query(text, params, options);
    },
    transaction: (work) =>
      db.transaction((tx) =>
        work({
          query: (text, params, options) => {
            if (captured.text === undefined && readsFeedPage(text)) Object.assign(captured, { text, params });
            return tx.query(text, params, options);
          },
        }),
      ),
  };
}

/**
 * The projector as the bank deploys it: a fresh generation of the projection's
 * own partitions (4) catches up from the start of the feed, on the deployed
 * pool, with the bounds the deployed projector runs with (each statement timed).
 */
async function measureProjector(url: string, round: number, scenario: CatchUpScenario): Promise<Throughput> {
  const total = scenario.accounts * scenario.eventsPerAccount;
  const { connectTimeoutMs, queryTimeoutMs, poolMax } = bankService.database;
  const plain = createPgDb({ connectionString: url, max: poolMax, connectTimeoutMs, queryTimeoutMs });
  const captured: { text?: string; params?: readonly unknown[] } = {};
  const db = capturingFeedReads(plain, captured);
  try {
    const name = `bench_summaries_${round}`;
    const projection = defineAccountSummaries({ name, batchSize: scenario.batchSize });
    await registerProjection(db, projection);
    const throughputSince = startThroughput();
    const run = await createProjector({ db, projections: [projection] }).runUntilCaughtUp();
    const throughput = throughputSince(total);
    if (run.eventsApplied !== total) throw new Error(`the projector applied ${run.eventsApplied} events, expected ${total}`);
    await expectSummaries(url, 'the projector', generationTableName(name, 'accounts', 1), scenario);
    if (round === 1) {
      if (captured.text === undefined) throw new Error('no feed page read was captured: the projector\'s plan cannot be printed');
      await printPlansAsRun(url, 'the projector', { text: captured.text, values: captured.params ?? [] });
    }
    return throughput;
  } finally {
    await plain.close();
  }
}

/** Catch-up of the account-summary projection over the whole feed, beside the hand-written baseline. */
export async function benchmarkSummaryCatchUp(url: string, scenario: CatchUpScenario): Promise<Comparison> {
  const total = await fillAccounts(url, scenario);
  // Fresh statistics before anything is timed: the events are the same table for both sides.
  await withPlainPool(url, 1, (pool) => pool.query('VACUUM ANALYZE events'));
  // One untimed catch-up per side first, as the other benchmarks warm up: a
  // process's first pass through the projector's code ran 10 to 20% slower than
  // the passes after it (the baseline's, about 5%), a cost paid once per process.
  await measureProjector(url, 0, scenario);
  await measureHandWrittenCatchUp(url, 0, scenario);
  return compareInterleaved(
    `account-summary catch-up over ${total} events, batches of ${scenario.batchSize}`,
    'events/s',
    (round) => measureProjector(url, round, scenario),
    (round) => measureHandWrittenCatchUp(url, round, scenario),
  );
}
