import { randomUUID } from 'node:crypto';
import type { AggregateRepository } from '../../core/aggregates';
import type { Queryable } from '../../core/db';
import type { EventStore, NewEvent } from '../../core/eventstore';
import { deposit, type AccountCommand, type AccountEvent, type AccountState } from '../../test/support/accountAggregate';

export type AccountRepository = AggregateRepository<AccountState, AccountEvent, AccountCommand>;

/** An account stream ready to be loaded: its event count and the snapshot it should load from (0: none). */
export interface PreparedAccount {
  id: string;
  events: number;
  snapshotVersion: number;
}

// Large enough that 10,000 events take a few round trips, small enough to stay far below the event size limits.
const EVENTS_PER_APPEND = 1_000;

function history(count: number): NewEvent<AccountEvent>[] {
  return [
    { type: 'AccountOpened', data: { owner: 'ada', currency: 'EUR' } },
    ...Array.from({ length: count - 1 }, (_, index) => ({
      type: 'MoneyDeposited' as const,
      data: { amount: index + 1, currency: 'EUR' },
    })),
  ];
}

/** Writes all but the last event straight to the store: a thousand commands would only slow the setup down. */
async function appendHistory(store: EventStore, streamId: string, count: number): Promise<void> {
  const events = history(count);
  for (let start = 0; start < events.length; start += EVENTS_PER_APPEND) {
    await store.appendToStream({
      streamId,
      streamType: 'account',
      expectedVersion: start,
      events: events.slice(start, start + EVENTS_PER_APPEND),
    });
  }
}

async function storedSnapshotVersion(db: Queryable, streamId: string, schemaVersion: number): Promise<number> {
  const { rows } = await db.query<{ version: number }>(
    'SELECT version FROM snapshots WHERE stream_id = $1 AND schema_version = $2',
    [streamId, schemaVersion],
  );
  return rows[0]?.version ?? 0;
}

export interface AccountSetup {
  db: Queryable;
  store: EventStore;
  /** A repository whose aggregate has the snapshot policy, and waits for its snapshot writes. */
  snapshotted: AccountRepository;
  snapshotEvery: number;
  snapshotSchemaVersion: number;
}

/**
 * The worst case for a snapshot: an account whose snapshot was written at
 * `events`, with `behind` more events appended since (one short of the next snapshot).
 */
export async function givenAccountBehindSnapshot(setup: AccountSetup, events: number, behind: number): Promise<PreparedAccount> {
  const account = await givenAccount(setup, events);
  await setup.store.appendToStream({
    streamId: `account-${account.id}`,
    streamType: 'account',
    expectedVersion: events,
    events: Array.from({ length: behind }, () => ({ type: 'MoneyDeposited' as const, data: { amount: 1, currency: 'EUR' } })),
  });
  return { ...account, events: events + behind };
}

/**
 * Creates an account with `events` events, the last one through a command of
 * the snapshot-enabled repository, which writes a snapshot at the head once
 * `every` events have piled up. The snapshots table is checked, so a snapshot
 * that silently failed cannot pass for a fast load.
 */
export async function givenAccount(setup: AccountSetup, events: number): Promise<PreparedAccount> {
  const id = randomUUID();
  const streamId = `account-${id}`;
  await appendHistory(setup.store, streamId, events - 1);
  const outcome = await setup.snapshotted.handle(id, deposit(1));
  if (outcome.version !== events) throw new Error(`${streamId} is at version ${outcome.version}, expected ${events}`);
  const expected = events >= setup.snapshotEvery ? events : 0;
  const snapshotVersion = await storedSnapshotVersion(setup.db, streamId, setup.snapshotSchemaVersion);
  if (snapshotVersion !== expected) {
    throw new Error(`${streamId} has a snapshot at version ${snapshotVersion}, expected ${expected}`);
  }
  return { id, events, snapshotVersion };
}
