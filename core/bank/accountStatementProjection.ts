import type { Queryable } from '../db';
import { defineProjection, type Projection } from '../projections';
import { accountIdOf } from './accountIds';
import type { AccountEvent, Movement } from './accountTypes';

interface StatementLine {
  accountId: string;
  version: number;
  eventId: string;
  kind: 'deposit' | 'withdrawal';
  amount: number;
  transferId: string | null;
  recordedAt: Date;
}

interface StatementBatch {
  opened: { accountId: string; currency: string }[];
  lines: StatementLine[];
}

type StatementTable = 'accounts' | 'lines';

async function balancesOf(tx: Queryable, table: string, accountIds: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await tx.query<{ account_id: string; balance: string }>(
    `SELECT account_id, balance FROM ${table} WHERE account_id = ANY ($1::text[])`,
    [accountIds],
  );
  return new Map(rows.map((row) => [row.account_id, Number(row.balance)]));
}

function line(kind: StatementLine['kind'], event: { streamId: string; version: number; eventId: string; recordedAt: Date; data: Movement }): StatementLine {
  return {
    accountId: accountIdOf(event.streamId),
    version: event.version,
    eventId: event.eventId,
    kind,
    amount: event.data.amount,
    transferId: event.data.transferId ?? null,
    recordedAt: event.recordedAt,
  };
}

/**
 * Account statements: every deposit and withdrawal with the balance after it.
 * The running balance continues from the one stored per account; a batch
 * reads those once, numbers its lines in memory and writes them in one insert.
 */
export function defineAccountStatements(options: { name?: string; version?: number; partitions?: number } = {}): Projection<StatementTable> {
  return defineProjection<AccountEvent>()({
    name: options.name ?? 'account_statements',
    version: options.version ?? 1,
    partitions: options.partitions ?? 4,
    streamTypes: ['account'],
    tables: ['accounts', 'lines'],
    setup: async (tx, { accounts, lines }) => {
      await tx.query(`CREATE TABLE ${accounts} (account_id text PRIMARY KEY, currency text NOT NULL, balance bigint NOT NULL)`);
      await tx.query(`CREATE TABLE ${lines} (
        account_id    text NOT NULL,
        version       integer NOT NULL,
        event_id      uuid NOT NULL,
        kind          text NOT NULL CHECK (kind IN ('deposit', 'withdrawal')),
        amount        bigint NOT NULL,
        balance_after bigint NOT NULL,
        transfer_id   text,
        recorded_at   timestamptz NOT NULL,
        PRIMARY KEY (account_id, version))`);
    },
    startBatch: (): StatementBatch => ({ opened: [], lines: [] }),
    handlers: {
      AccountOpened: (event, { batch }) => {
        batch.opened.push({ accountId: accountIdOf(event.streamId), currency: event.data.currency });
      },
      MoneyDeposited: (event, { batch }) => {
        batch.lines.push(line('deposit', event));
      },
      MoneyWithdrawn: (event, { batch }) => {
        batch.lines.push(line('withdrawal', event));
      },
    },
    flush: async ({ tx, tables, batch }) => {
      if (batch.opened.length > 0) {
        await tx.query(`INSERT INTO ${tables.accounts} (account_id, currency, balance) SELECT id, currency, 0 FROM unnest($1::text[], $2::text[]) AS o(id, currency)`, [
          batch.opened.map((opened) => opened.accountId),
          batch.opened.map((opened) => opened.currency),
        ]);
      }
      if (batch.lines.length === 0) return;
      const balances = await balancesOf(tx, tables.accounts, [...new Set(batch.lines.map((entry) => entry.accountId))]);
      const after = batch.lines.map((entry) => {
        const balance = (balances.get(entry.accountId) ?? 0) + (entry.kind === 'deposit' ? entry.amount : -entry.amount);
        balances.set(entry.accountId, balance);
        return balance;
      });
      await tx.query(
        `INSERT INTO ${tables.lines} (account_id, version, event_id, kind, amount, balance_after, transfer_id, recorded_at)
         SELECT * FROM unnest($1::text[], $2::integer[], $3::uuid[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::timestamptz[])`,
        [
          batch.lines.map((entry) => entry.accountId),
          batch.lines.map((entry) => entry.version),
          batch.lines.map((entry) => entry.eventId),
          batch.lines.map((entry) => entry.kind),
          batch.lines.map((entry) => entry.amount),
          after,
          batch.lines.map((entry) => entry.transferId),
          batch.lines.map((entry) => entry.recordedAt),
        ],
      );
      await tx.query(
        `UPDATE ${tables.accounts} AS a SET balance = b.balance FROM unnest($1::text[], $2::bigint[]) AS b(id, balance) WHERE a.account_id = b.id`,
        [[...balances.keys()], [...balances.values()]],
      );
    },
  });
}

export const accountStatements = defineAccountStatements();
