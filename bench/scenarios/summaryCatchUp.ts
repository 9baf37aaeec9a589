import type pg from 'pg';
import { createPgDb, type Db } from '../../core/db';
import { defineAccountSummaries } from '../../core/bank';
import type { AccountEvent } from '../../core/bank';
import { createEventStore, type NewEvent } from '../../core/eventstore';
import { createProjector, registerProjection } from '../../core/projections';
import { compareInterleaved, type Comparison } from '../support/compareInterleaved';
import { withPlainPool } from '../support/connections';
import { startThroughput, type Throughput } from '../support/measureThroughput';

export interface CatchUpScenario {
  accounts: number;
  eventsPerAccount: number;
  batchSize: number;
}

/** Opens each account, then alternates deposits and withdrawals, 100 events per append. */
async function fillAccounts(url: string, scenario: CatchUpScenario): Promise<number> {
  const db = createPgDb({ connectionString: url, max: 4 });
  const store = createEventStore(db);
  try {
    for (let index = 0; index < scenario.accounts; index += 1) {
      const events: NewEvent<AccountEvent>[] = [{ type: 'AccountOpened', data: { owner: `owner ${index}`, currency: 'EUR' } }];
      for (let n = 1; n < scenario.eventsPerAccount; n += 1) {
        events.push(n % 3 === 0 ? { type: 'MoneyWithdrawn', data: { amount: 10 } } : { type: 'MoneyDeposited', data: { amount: 25 } });
      }
      for (let from = 0; from < events.length; from += 100) {
        await store.appendToStream({ streamId: `account-${index}`, streamType: 'account', expectedVersion: from, events: events.slice(from, from + 100) });
      }
    }
  } finally {
    await db.close();
  }
  return scenario.accounts * scenario.eventsPerAccount;
}

/** A Db that remembers the first statement reading a page of the feed, to show its plan afterwards. */
function capturingFeedReads(db: Db, captured: { text?: string; params?: readonly unknown[] }): Db {
  return {
    ...db,
    query: (text, params, options) => {
      if (captured.text === undefined && text.includes('read_feed_page')) Object.assign(captured, { text, params });
      return db.query(text, params, options);
    },
    transaction: (work) =>
      db.transaction((tx) =>
        work({
          query: (text, params, options) => {
            if (captured.text === undefined && text.includes('read_feed_page')) Object.assign(captured, { text, params });
            return tx.query(text, params, options);
          },
        }),
      ),
  };
}

// auto_explain logs the plan of every statement a call runs, the query inside a
// PL/pgSQL function too, with the plan PostgreSQL used (a generic one there); at
// the notice level the client receives it.
const EXPLAIN_NESTED = [
  "LOAD 'auto_explain'",
  'SET auto_explain.log_min_duration = 0',
  'SET auto_explain.log_nested_statements = on',
  'SET auto_explain.log_analyze = on',
  'SET auto_explain.log_timing = off',
  'SET auto_explain.log_level = notice',
  'SET client_min_messages = notice',
];

/**
 * Prints the plans of a page read, executed, to the bench log: both sides must walk
 * an index, not sort the table. EXPLAIN of the projector's statement would show only
 * a scan of read_feed_page_with_head; this shows the query inside it as well.
 */
async function printNestedPlans(url: string, label: string, text: string, params: readonly unknown[]): Promise<void> {
  await withPlainPool(url, 1, async (pool) => {
    const client = await pool.connect();
    const plans: string[] = [];
    const collect = (notice: { message?: string | undefined }) => {
      plans.push(notice.message ?? '');
    };
    client.on('notice', collect);
    try {
      for (const setting of EXPLAIN_NESTED) await client.query(setting);
      await client.query(text, [...params]);
    } finally {
      client.off('notice', collect);
      client.release(true);
    }
    const indented = plans.flatMap((plan) => plan.split('\n')).map((line) => `    ${line}`);
    console.error(`  plans of ${label}'s page read, the function's own query first:\n${indented.join('\n')}`);
  });
}

/** The projector: a fresh generation catches up from the start of the feed on one connection, one partition. */
async function measureProjector(url: string, round: number, total: number, batchSize: number): Promise<Throughput> {
  const plain = createPgDb({ connectionString: url, max: 1 });
  const captured: { text?: string; params?: readonly unknown[] } = {};
  const db = capturingFeedReads(plain, captured);
  try {
    const projection = defineAccountSummaries({ name: `bench_summaries_${round}`, partitions: 1, batchSize });
    await registerProjection(db, projection);
    const throughputSince = startThroughput();
    const run = await createProjector({ db, projections: [projection] }).runUntilCaughtUp();
    const throughput = throughputSince(total);
    if (run.eventsApplied !== total) throw new Error(`the projector applied ${run.eventsApplied} events, expected ${total}`);
    if (round === 1) {
      if (captured.text === undefined) throw new Error('no feed page read was captured: the projector\'s plan cannot be printed');
      await printNestedPlans(url, 'the projector', captured.text, captured.params ?? []);
    }
    return throughput;
  } finally {
    await plain.close();
  }
}

// What a hand-written catch-up would do per batch: read a keyset page of the
// events in the feed's order (its index), in a prepared statement, with the record
// time as epoch milliseconds as the store reads it (the driver parses a timestamptz
// with a regular expression), fold it per account, write the same two set-based
// statements, and store its position, in one transaction.
const PAGE_SQL = `SELECT tx_id, global_position, stream_id, type, data, version,
    floor(date_part('epoch', recorded_at) * 1000 + 0.0005) AS recorded_at_ms FROM events
  WHERE (tx_id, global_position) > ($1::xid8, $2::bigint) AND stream_type = 'account' ORDER BY tx_id, global_position LIMIT $3`;

/** A page row as an array, PAGE_SQL's columns in order: the driver builds no object per row, as the store's reads do not. */
type PageRow = [
  txId: string,
  globalPosition: string,
  streamId: string,
  type: string,
  data: { owner?: string; currency?: string; amount?: number },
  version: number,
  recordedAtMs: number,
];

interface Change {
  owner?: string;
  currency?: string;
  delta: number;
  closed: boolean;
  version: number;
  updatedAt: Date;
}

async function baselineBatch(client: pg.PoolClient, table: string, after: readonly string[], batchSize: number): Promise<PageRow[]> {
  await client.query('BEGIN');
  const { rows } = await client.query<PageRow>({ name: 'baseline_catch_up_page', text: PAGE_SQL, values: [...after, batchSize], rowMode: 'array' });
  const changes = new Map<string, Change>();
  for (const [, , streamId, type, data, version, recordedAtMs] of rows) {
    const id = streamId.slice('account-'.length);
    const recordedAt = new Date(recordedAtMs);
    const change = changes.get(id) ?? { delta: 0, closed: false, version, updatedAt: recordedAt };
    changes.set(id, change);
    change.version = version;
    change.updatedAt = recordedAt;
    if (type === 'AccountOpened') Object.assign(change, { owner: data.owner, currency: data.currency });
    else if (type === 'MoneyDeposited') change.delta += data.amount ?? 0;
    else if (type === 'MoneyWithdrawn') change.delta -= data.amount ?? 0;
    else if (type === 'AccountClosed') change.closed = true;
  }
  const all = [...changes];
  const opened = all.filter(([, change]) => change.owner !== undefined);
  if (opened.length > 0) {
    await client.query(
      `INSERT INTO ${table} (account_id, owner, currency, status, balance, version, updated_at)
       SELECT id, owner, currency, 'open', 0, 0, now() FROM unnest($1::text[], $2::text[], $3::text[]) AS o(id, owner, currency)`,
      [opened.map(([id]) => id), opened.map(([, change]) => change.owner), opened.map(([, change]) => change.currency)],
    );
  }
  await client.query(
    `UPDATE ${table} AS s SET balance = s.balance + c.delta, status = CASE WHEN c.closed THEN 'closed' ELSE s.status END,
       version = c.version, updated_at = c.updated_at
     FROM unnest($1::text[], $2::bigint[], $3::boolean[], $4::integer[], $5::timestamptz[]) AS c(id, delta, closed, version, updated_at)
     WHERE s.account_id = c.id`,
    [all.map(([id]) => id), all.map(([, c]) => c.delta), all.map(([, c]) => c.closed), all.map(([, c]) => c.version), all.map(([, c]) => c.updatedAt)],
  );
  const last = rows[rows.length - 1];
  if (last) await client.query('UPDATE baseline_checkpoint SET tx_id = $1, position = $2', [last[0], last[1]]);
  await client.query('COMMIT');
  return rows;
}

async function measureBaseline(url: string, round: number, total: number, batchSize: number): Promise<Throughput> {
  return withPlainPool(url, 1, async (pool) => {
    const table = `baseline_summaries_${round}`;
    await pool.query(`CREATE TABLE ${table} (account_id text PRIMARY KEY, owner text NOT NULL, currency text NOT NULL,
      status text NOT NULL CHECK (status IN ('open', 'closed')), balance bigint NOT NULL, version integer NOT NULL, updated_at timestamptz NOT NULL)`);
    await pool.query('CREATE TABLE IF NOT EXISTS baseline_checkpoint (tx_id xid8 NOT NULL, position bigint NOT NULL)');
    await pool.query("TRUNCATE baseline_checkpoint; INSERT INTO baseline_checkpoint VALUES ('0', 0)");
    const client = await pool.connect();
    try {
      const throughputSince = startThroughput();
      let after = ['0', '0'];
      let applied = 0;
      for (;;) {
        const rows = await baselineBatch(client, table, after, batchSize);
        applied += rows.length;
        const last = rows[rows.length - 1];
        if (!last || rows.length < batchSize) break;
        after = [last[0], last[1]];
      }
      const throughput = throughputSince(total);
      if (applied !== total) throw new Error(`the baseline applied ${applied} events, expected ${total}`);
      if (round === 1) {
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${PAGE_SQL}`, ['0', '0', batchSize]);
        console.error(`  plan of the baseline's page read:\n${rows.map((row) => `    ${row['QUERY PLAN']}`).join('\n')}`);
      }
      return throughput;
    } finally {
      client.release();
    }
  });
}

/** Catch-up of the account-summary projection over the whole feed, beside the hand-written baseline. */
export async function benchmarkSummaryCatchUp(url: string, scenario: CatchUpScenario): Promise<Comparison> {
  const total = await fillAccounts(url, scenario);
  // Fresh statistics before anything is timed: the events are the same table for both sides.
  await withPlainPool(url, 1, (pool) => pool.query('VACUUM ANALYZE events'));
  // One untimed catch-up per side first, as the other benchmarks warm up: a
  // process's first pass through the projector's code ran 10 to 20% slower than
  // the passes after it (the baseline's, about 5%), a cost paid once per process.
  await measureProjector(url, 0, total, scenario.batchSize);
  await measureBaseline(url, 0, total, scenario.batchSize);
  return compareInterleaved(
    `account-summary catch-up over ${total} events, batches of ${scenario.batchSize}`,
    'events/s',
    (round) => measureProjector(url, round, total, scenario.batchSize),
    (round) => measureBaseline(url, round, total, scenario.batchSize),
  );
}
