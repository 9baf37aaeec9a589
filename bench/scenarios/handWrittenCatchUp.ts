import type pg from 'pg';
import { withPlainPool } from '../support/connections';
import { startThroughput, type Throughput } from '../support/measureThroughput';
import { printPlansAsRun } from '../support/plansAsRun';
import { expectSummaries, type CatchUpScenario } from './catchUpScenario';

// What a hand-written catch-up would do per batch: read a keyset page of the
// events in the feed's order (its index), in a prepared statement, with the record
// time as epoch milliseconds as the store reads it (the driver parses a timestamptz
// with a regular expression), fold it per account, write the same two set-based
// statements, and store its position, in one transaction. Its page stops below the
// oldest transaction still open, as any correct walk of that order must: past it, a
// transaction committing later would land behind the stored position, never read.
const PAGE_SQL = `SELECT tx_id, global_position, stream_id, type, data, version,
    floor(date_part('epoch', recorded_at) * 1000 + 0.0005) AS recorded_at_ms FROM events
  WHERE (tx_id, global_position) > ($1::xid8, $2::bigint) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
    AND stream_type = 'account' ORDER BY tx_id, global_position LIMIT $3`;

const PAGE_STATEMENT = 'baseline_catch_up_page';

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
  const { rows } = await client.query<PageRow>({ name: PAGE_STATEMENT, text: PAGE_SQL, values: [...after, batchSize], rowMode: 'array' });
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

export async function measureHandWrittenCatchUp(url: string, round: number, scenario: CatchUpScenario): Promise<Throughput> {
  const { batchSize } = scenario;
  const total = scenario.accounts * scenario.eventsPerAccount;
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
      await expectSummaries(url, 'the baseline', table, scenario);
      if (round === 1) await printPlansAsRun(url, 'the baseline', { name: PAGE_STATEMENT, text: PAGE_SQL, values: ['0', '0', batchSize] });
      return throughput;
    } finally {
      client.release();
    }
  });
}
