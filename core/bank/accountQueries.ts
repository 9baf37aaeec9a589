import * as z from '../schema';
import type { Queryable } from '../db';
import { MAX_STREAM_VERSION } from '../eventstore';
import { createProjectionReader } from '../projections';
import { accountStatements } from './accountStatementProjection';
import { accountSummaries } from './accountSummaryProjection';

export interface AccountSummary {
  accountId: string;
  owner: string;
  currency: string;
  status: 'open' | 'closed';
  /** In minor units. */
  balance: number;
  /** The account stream's version the summary reflects. */
  version: number;
  updatedAt: Date;
}

export interface StatementLine {
  version: number;
  eventId: string;
  kind: 'deposit' | 'withdrawal';
  amount: number;
  balanceAfter: number;
  transferId: string | null;
  recordedAt: Date;
}

export interface StatementPage {
  accountId: string;
  currency: string;
  lines: StatementLine[];
  /** Pass as `after` for the next page; null on the last one. */
  nextCursor: string | null;
}

export const MAX_STATEMENT_PAGE = 200;

/** A statement page request: `limit` lines (1-200, default 50) after the cursor a previous page returned. */
export const StatementPageRequestSchema = z.object({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(MAX_STATEMENT_PAGE)), 50),
  // A cursor is a stream version; past the largest one, PostgreSQL would refuse the comparison itself.
  after: z.optional(
    z.string().check(z.refine((cursor) => /^\d{1,10}$/.test(cursor) && Number(cursor) <= MAX_STREAM_VERSION, 'must be the nextCursor of a previous page')),
  ),
});

export type StatementPageRequest = z.infer<typeof StatementPageRequestSchema>;

interface SummaryRow {
  account_id: string;
  owner: string;
  currency: string;
  status: 'open' | 'closed';
  balance: string;
  version: number;
  updated_at: Date;
}

interface LineRow {
  version: number;
  event_id: string;
  kind: 'deposit' | 'withdrawal';
  amount: string;
  balance_after: string;
  transfer_id: string | null;
  recorded_at: Date;
}

export interface AccountQueries {
  /** The account's summary, or null if the read model has no such account (yet). */
  getAccountSummary(accountId: string): Promise<AccountSummary | null>;
  /** A page of the account's statement, oldest first; null if the read model has no such account (yet). */
  getAccountStatement(accountId: string, page: StatementPageRequest): Promise<StatementPage | null>;
}

/** Reads the account read models from their active generations. */
export function createAccountQueries(db: Queryable): AccountQueries {
  const summaries = createProjectionReader(db, accountSummaries);
  const statements = createProjectionReader(db, accountStatements);
  return {
    async getAccountSummary(accountId) {
      const tables = await summaries.tables();
      if (!tables) return null;
      const { rows } = await db.query<SummaryRow>(
        `SELECT account_id, owner, currency, status, balance, version, updated_at FROM ${tables.accounts} WHERE account_id = $1`,
        [accountId],
      );
      const row = rows[0];
      if (!row) return null;
      return {
        accountId: row.account_id,
        owner: row.owner,
        currency: row.currency,
        status: row.status,
        balance: Number(row.balance),
        version: row.version,
        updatedAt: row.updated_at,
      };
    },
    async getAccountStatement(accountId, { limit, after }) {
      const tables = await statements.tables();
      if (!tables) return null;
      const account = await db.query<{ currency: string }>(`SELECT currency FROM ${tables.accounts} WHERE account_id = $1`, [accountId]);
      const currency = account.rows[0]?.currency;
      if (currency === undefined) return null;
      const { rows } = await db.query<LineRow>(
        `SELECT version, event_id, kind, amount, balance_after, transfer_id, recorded_at FROM ${tables.lines}
         WHERE account_id = $1 AND version > $2 ORDER BY version LIMIT $3`,
        [accountId, Number(after ?? 0), limit + 1],
      );
      const lines = rows.slice(0, limit).map((row) => ({
        version: row.version,
        eventId: row.event_id,
        kind: row.kind,
        amount: Number(row.amount),
        balanceAfter: Number(row.balance_after),
        transferId: row.transfer_id,
        recordedAt: row.recorded_at,
      }));
      const last = lines[lines.length - 1];
      return { accountId, currency, lines, nextCursor: rows.length > limit && last ? String(last.version) : null };
    },
  };
}
