import type { LoadedAggregate } from './loadAggregate';

/**
 * The newest state this process wrote for each of a repository's streams, so
 * a command on an aggregate it just wrote need not load it again. Bounded,
 * least recently used first out. An entry is only a guess at the stream's
 * current state: the repository trusts it only once an append made with its
 * version as expected version succeeds.
 */
export interface AggregateCache<State> {
  get(streamId: string): LoadedAggregate<State> | undefined;
  /** Keeps `loaded` unless the cache already holds a newer version of the stream. */
  remember(loaded: LoadedAggregate<State>): void;
  forget(streamId: string): void;
}

export function createAggregateCache<State>(maxEntries: number): AggregateCache<State> {
  const entries = new Map<string, LoadedAggregate<State>>();
  return {
    get(streamId) {
      const entry = entries.get(streamId);
      if (entry) {
        // Re-inserted to mark it recently used: a Map iterates in insertion order.
        entries.delete(streamId);
        entries.set(streamId, entry);
      }
      return entry;
    },
    remember(loaded) {
      if (maxEntries <= 0) return;
      const existing = entries.get(loaded.streamId);
      if (existing && existing.version > loaded.version) return;
      entries.delete(loaded.streamId);
      entries.set(loaded.streamId, loaded);
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
    },
    forget(streamId) {
      entries.delete(streamId);
    },
  };
}
