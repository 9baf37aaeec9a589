import { expect } from 'vitest';
import type { Db, Queryable } from '../../../core/db';
import { compareCheckpoints, START_OF_FEED, type Checkpoint, type EventStore, type RecordedEvent } from '../../../core/eventstore';
import { createProjectionReader, defineProjection, type Projection } from '../../../core/projections';
import type { AccountEvent } from '../../support/fixtures';

export interface RecordingOptions {
  name?: string;
  version?: number;
  partitions?: number;
  batchSize?: number;
  /** Written on every row, to tell projector instances apart. */
  instance?: string;
  /** Throws while applying the events it picks, to play a broken handler. */
  failOn?: (event: RecordedEvent) => boolean;
  /** What it throws there; by default an Error naming the event. */
  failWith?: (event: RecordedEvent) => Error;
  /** Awaited before each event is applied, in the batch's transaction, to hold a batch open. */
  beforeApply?: (tx: Queryable) => Promise<void>;
  /** Awaited in its setup before its table is made, to hold a registration open. */
  beforeSetup?: (tx: Queryable) => Promise<void>;
}

/**
 * A projection that writes one row per application, with no unique key:
 * a duplicate would show as a second row, a loss as a missing one, and the
 * order of `seq` is the order events were applied in.
 */
export function recordingProjection(options: RecordingOptions = {}): Projection<'applied'> {
  const record = async (event: RecordedEvent, tx: Queryable, table: string) => {
    await options.beforeApply?.(tx);
    if (options.failOn?.(event)) throw options.failWith?.(event) ?? new Error(`refusing ${event.eventId}`);
    await tx.query(`INSERT INTO ${table} (event_id, stream_id, version, instance) VALUES ($1, $2, $3, $4)`, [
      event.eventId,
      event.streamId,
      event.version,
      options.instance ?? 'one',
    ]);
  };
  return defineProjection<AccountEvent>()({
    name: options.name ?? 'recorded',
    version: options.version ?? 1,
    partitions: options.partitions ?? 1,
    batchSize: options.batchSize ?? 100,
    tables: ['applied'],
    setup: async (tx, { applied }) => {
      await options.beforeSetup?.(tx);
      await tx.query(`CREATE TABLE ${applied} (
        seq bigserial PRIMARY KEY, event_id uuid NOT NULL, stream_id text NOT NULL, version integer NOT NULL, instance text NOT NULL)`);
    },
    handlers: {
      AccountOpened: (event, { tx, tables }) => record(event, tx, tables.applied),
      MoneyDeposited: (event, { tx, tables }) => record(event, tx, tables.applied),
      MoneyWithdrawn: (event, { tx, tables }) => record(event, tx, tables.applied),
    },
  });
}

export interface AppliedRow {
  event_id: string;
  stream_id: string;
  version: number;
  instance: string;
}

/** Every row the active generation's table holds, in the order applied. */
export async function readApplied(db: Db, projection: Projection<'applied'>): Promise<AppliedRow[]> {
  const tables = await createProjectionReader(db, projection, { cacheMs: 0 }).tables();
  if (!tables) throw new Error(`${projection.name} has no active generation`);
  const { rows } = await db.query<AppliedRow>(`SELECT event_id, stream_id, version, instance FROM ${tables.applied} ORDER BY seq`);
  return rows;
}

/** Each committed event applied once, none other, each stream's events in version order. */
export function expectExactlyOnceInOrder(applied: readonly AppliedRow[], committedEventIds: readonly string[]): void {
  const ids = applied.map((row) => row.event_id);
  expect(new Set(ids).size, 'no event applied twice').toBe(ids.length);
  expect([...ids].sort(), 'exactly the committed events').toEqual([...committedEventIds].sort());
  const lastVersion = new Map<string, number>();
  for (const row of applied) {
    const previous = lastVersion.get(row.stream_id) ?? 0;
    expect(row.version, `${row.stream_id} applied in order`).toBeGreaterThan(previous);
    lastVersion.set(row.stream_id, row.version);
  }
}

export interface Appended {
  eventIds: string[];
  /** The feed position of the last commit. */
  checkpoint: Checkpoint;
}

/** Appends `perStream` events to each stream, `chunk` per append, streams racing each other. */
export async function appendAcrossStreams(
  store: EventStore,
  streamIds: readonly string[],
  perStream: number,
  chunk: number,
): Promise<Appended> {
  const ids: string[] = [];
  let checkpoint = START_OF_FEED;
  for (let version = 0; version < perStream; version += chunk) {
    const results = await Promise.all(
      streamIds.map((streamId) =>
        store.appendToStream<AccountEvent>({
          streamId,
          streamType: 'account',
          expectedVersion: version,
          events: Array.from({ length: Math.min(chunk, perStream - version) }, (_, offset) =>
            version + offset === 0
              ? { type: 'AccountOpened', data: { owner: streamId, currency: 'EUR' } }
              : { type: 'MoneyDeposited', data: { amount: version + offset } },
          ),
        }),
      ),
    );
    ids.push(...results.flatMap((result) => result.events.map((event) => event.eventId)));
    for (const result of results) if (compareCheckpoints(result.checkpoint, checkpoint) > 0) checkpoint = result.checkpoint;
  }
  return { eventIds: ids, checkpoint };
}
