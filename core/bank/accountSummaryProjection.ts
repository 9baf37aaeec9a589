import { defineProjection, type Projection } from '../projections';
import { accountIdOf } from './accountIds';
import type { AccountEvent } from './accountTypes';

/** What one batch changes of one account: opened in it or not, the net movement, closed or not. */
interface SummaryChange {
  opened?: { owner: string; currency: string };
  delta: number;
  closed: boolean;
  version: number;
  updatedAt: Date;
}

type SummaryBatch = Map<string, SummaryChange>;

const OPEN_SQL = (table: string) => `
  INSERT INTO ${table} (account_id, owner, currency, status, balance, version, updated_at)
  SELECT id, owner, currency, 'open', 0, 0, now() FROM unnest($1::text[], $2::text[], $3::text[]) AS o(id, owner, currency)`;

const APPLY_SQL = (table: string) => `
  UPDATE ${table} AS s
  SET balance = s.balance + c.delta,
      status = CASE WHEN c.closed THEN 'closed' ELSE s.status END,
      version = c.version,
      updated_at = c.updated_at
  FROM unnest($1::text[], $2::bigint[], $3::boolean[], $4::integer[], $5::timestamptz[]) AS c(id, delta, closed, version, updated_at)
  WHERE s.account_id = c.id`;

function changeOf(batch: SummaryBatch, event: { streamId: string; version: number; recordedAt: Date }): SummaryChange {
  const id = accountIdOf(event.streamId);
  let change = batch.get(id);
  if (!change) {
    change = { delta: 0, closed: false, version: event.version, updatedAt: event.recordedAt };
    batch.set(id, change);
  }
  change.version = event.version;
  change.updatedAt = event.recordedAt;
  return change;
}

/**
 * Account summaries: owner, currency, balance and status per account. A batch
 * folds its events per account in memory and writes them with two set-based
 * statements, so catching up costs a few round trips per batch, not per event.
 */
export function defineAccountSummaries(options: { name?: string; version?: number; partitions?: number; batchSize?: number } = {}): Projection<'accounts'> {
  return defineProjection<AccountEvent>()({
    name: options.name ?? 'account_summaries',
    version: options.version ?? 1,
    partitions: options.partitions ?? 4,
    batchSize: options.batchSize ?? 500,
    streamTypes: ['account'],
    tables: ['accounts'],
    setup: async (tx, { accounts }) => {
      await tx.query(`CREATE TABLE ${accounts} (
        account_id text PRIMARY KEY,
        owner      text NOT NULL,
        currency   text NOT NULL,
        status     text NOT NULL CHECK (status IN ('open', 'closed')),
        balance    bigint NOT NULL,
        version    integer NOT NULL,
        updated_at timestamptz NOT NULL)`);
    },
    startBatch: (): SummaryBatch => new Map(),
    handlers: {
      AccountOpened: (event, { batch }) => {
        changeOf(batch, event).opened = { owner: event.data.owner, currency: event.data.currency };
      },
      MoneyDeposited: (event, { batch }) => {
        changeOf(batch, event).delta += event.data.amount;
      },
      MoneyWithdrawn: (event, { batch }) => {
        changeOf(batch, event).delta -= event.data.amount;
      },
      AccountClosed: (event, { batch }) => {
        changeOf(batch, event).closed = true;
      },
    },
    flush: async ({ tx, tables, batch }) => {
      const changes = [...batch];
      const opened = changes.flatMap(([id, change]) => (change.opened ? [{ id, ...change.opened }] : []));
      if (opened.length > 0) {
        await tx.query(OPEN_SQL(tables.accounts), [opened.map((o) => o.id), opened.map((o) => o.owner), opened.map((o) => o.currency)]);
      }
      if (changes.length === 0) return;
      await tx.query(APPLY_SQL(tables.accounts), [
        changes.map(([id]) => id),
        changes.map(([, change]) => change.delta),
        changes.map(([, change]) => change.closed),
        changes.map(([, change]) => change.version),
        changes.map(([, change]) => change.updatedAt),
      ]);
    },
  });
}

export const accountSummaries = defineAccountSummaries();
