import type { Db, Queryable } from '../db';
import { log } from '../observability';
import type { AppendedEvent, Checkpoint, EventMetadata, EventShape, EventStore, IdempotencyRecord, IntegrationMessage } from '../eventstore';
import { createAggregateCache } from './aggregateCache';
import { boundedSnapshotWrite } from './boundedSnapshotWrite';
import { deepFreeze } from './deepFreeze';
import type { Aggregate, CommandShape } from './defineAggregate';
import { loadAggregate, type LoadedAggregate } from './loadAggregate';
import { snapshotDue, writeSnapshot } from './snapshotStore';

export interface HandleOptions<Event extends EventShape = EventShape> {
  /** Correlation, causation and command ids (and any fields of yours) written on every new event. */
  metadata?: EventMetadata;
  /** Run inside this transaction; snapshots are then left to a later command. */
  tx?: Queryable;
  /** Stores the command's outcome with its events (see the command bus). */
  idempotency?: IdempotencyRecord;
  /** Integration messages for other services, from the decided events: written with them, to the outbox. */
  messages?: (events: readonly Event[]) => readonly IntegrationMessage[];
}

export interface CommandOutcome<State, Event extends EventShape> {
  streamId: string;
  state: State;
  /** The stream's version after the command. */
  version: number;
  /** The events the command produced, with their ids, versions and global positions. */
  events: (Event & AppendedEvent)[];
  /** The feed position of the last new event; undefined when the command produced none. */
  checkpoint: Checkpoint | undefined;
}

export interface AggregateRepository<State, Event extends EventShape, Command extends CommandShape> {
  load(id: string, tx?: Queryable): Promise<LoadedAggregate<State>>;
  /** Loads, decides and appends with the loaded version as expected version. */
  handle(id: string, command: Command, options?: HandleOptions<Event>): Promise<CommandOutcome<State, Event>>;
}

export interface RepositoryOptions {
  /** How long a command waits for its snapshot write; default 50 ms. */
  snapshotBudgetMs?: number;
  onSnapshotError?: (error: unknown, streamId: string) => void;
  /**
   * How many aggregates' latest states this repository keeps between commands
   * (default 1,000; 0 turns it off). A command on a kept aggregate skips the
   * load: its append, expecting the kept version, proves the state current,
   * or fails with a ConcurrencyError (the bus retries with a fresh load).
   */
  cachedAggregates?: number;
}

const reportSnapshotError = (error: unknown, streamId: string) => {
  log.warn('snapshot write failed', { streamId, error: String(error) });
};

export function createRepository<State, Event extends EventShape, Command extends CommandShape>(
  db: Db,
  store: EventStore,
  aggregate: Aggregate<State, Event, Command>,
  options: RepositoryOptions = {},
): AggregateRepository<State, Event, Command> {
  const budgetMs = options.snapshotBudgetMs ?? 50;
  const onSnapshotError = options.onSnapshotError ?? reportSnapshotError;
  const cache = createAggregateCache<State>(options.cachedAggregates ?? 1_000);
  const load = (id: string, tx?: Queryable) => loadAggregate(tx ?? db, aggregate, store.upcaster, id);

  /** Appends what was decided on `loaded`, expecting `loaded.version`. */
  async function appendDecided(loaded: LoadedAggregate<State>, decided: Event[], handleOptions: HandleOptions<Event>) {
    const { tx, metadata, idempotency } = handleOptions;
    // What the function gives, whatever it is: a JavaScript one that forgot its `return` gives undefined.
    const messages: unknown = handleOptions.messages ? handleOptions.messages(decided) : [];
    // Evolved before the append, so an evolver that throws (one changing its frozen input, say) writes nothing.
    const state = deepFreeze(aggregate.apply(loaded.state, decided));
    const appended = await store.appendToStream<Event>(
      {
        streamId: loaded.streamId,
        streamType: aggregate.streamType,
        expectedVersion: loaded.version === 0 ? 'no_stream' : loaded.version,
        events: decided,
        ...(metadata ? { metadata } : {}),
        ...(idempotency ? { idempotency } : {}),
        // Anything but an empty list goes to the append, whose check refuses what is not a list (null for nothing at all).
        ...(Array.isArray(messages) && messages.length === 0 ? {} : { messages: (messages ?? null) as readonly IntegrationMessage[] }),
      },
      tx,
    );
    const version = appended.nextExpectedVersion;
    const policy = aggregate.snapshots;
    let { snapshotVersion } = loaded;
    if (!tx && policy && snapshotDue(policy.every, snapshotVersion, version)) {
      snapshotVersion = version;
      await boundedSnapshotWrite(
        () => writeSnapshot(db, policy, { streamId: loaded.streamId, version, state }),
        budgetMs,
        (error) => {
          onSnapshotError(error, loaded.streamId);
        },
      );
    }
    // Inside a caller's transaction the append may still roll back: nothing is kept.
    if (!tx) cache.remember({ streamId: loaded.streamId, state, version, snapshotVersion });
    return {
      streamId: loaded.streamId,
      state,
      version,
      // Not `{ ...event, ...appended }`: on Node 20 a literal that adds keys after a leading spread costs about a microsecond.
      events: decided.map((event, index) => Object.assign({}, event, appended.events[index] as AppendedEvent)),
      checkpoint: appended.checkpoint,
    };
  }

  /**
   * The cached path. Only an append can prove a kept state current, so a kept
   * state that decides nothing or breaks a rule proves nothing: undefined sends
   * the command down the loading path, to be decided on the stored state.
   */
  async function handleCached(cached: LoadedAggregate<State>, command: Command, handleOptions: HandleOptions<Event>) {
    let decided: Event[];
    try {
      decided = aggregate.execute(command, cached.state);
    } catch {
      return undefined;
    }
    if (decided.length === 0) return undefined;
    try {
      return await appendDecided(cached, decided, handleOptions);
    } catch (error) {
      // A conflict means another writer moved on; any other failure may have left the stream unknown.
      cache.forget(cached.streamId);
      throw error;
    }
  }

  return {
    load,
    async handle(id, command, handleOptions = {}) {
      const { tx } = handleOptions;
      const cached = tx ? undefined : cache.get(aggregate.streamId(id));
      const fromCache = cached ? await handleCached(cached, command, handleOptions) : undefined;
      if (fromCache) return fromCache;
      const loaded = await load(id, tx);
      // Deciders and callers get the state frozen, as kept states are: a change made to it in place would
      // otherwise reach the kept state through the one evolved from it, and decide later commands.
      deepFreeze(loaded.state);
      const decided = aggregate.execute(command, loaded.state);
      if (decided.length === 0) {
        return { streamId: loaded.streamId, state: loaded.state, version: loaded.version, events: [], checkpoint: undefined };
      }
      return appendDecided(loaded, decided, handleOptions);
    },
  };
}
