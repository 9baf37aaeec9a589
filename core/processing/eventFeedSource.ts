import type { Queryable } from '../db';
import { feedReadingAge, hasNoUpcastPath, isEventUpcaster, isFeedFilter, LAG_SCAN_BOUND, walkStoppedShortOfHead, MAX_FEED_BATCH_SIZE, MAX_NAME_LENGTH, readFeed, type EventUpcaster, type RecordedEvent } from '../eventstore';
import { findUnstorableText } from '../text';
import { BatchItemError, type BatchRetry } from './BatchItemError';
import type { FeedSource, SourceLag } from './FeedSource';
import { partitionOfKey } from './partitionOfKey';
import { ProcessorDefinitionError } from './ProcessorDefinitionError';
import { whyHandledTypeRenamed } from './renamedHandledType';

export interface EventFeedSourceOptions {
  upcaster: EventUpcaster;
  /** Only these event types (as current code names them); default all. */
  eventTypes?: readonly string[];
  streamTypes?: readonly string[];
  /**
   * What splits the feed into partitions: by default the stream, so a stream's
   * events stay in order in one partition (filtered in SQL). A key of your own
   * (a saga's correlation id) is hashed here: every partition then reads the
   * whole feed and keeps its own keys; null leaves an event out.
   */
  partitionKey?: (event: RecordedEvent) => string | null;
}

// Counts (up to a limit) what a partition has past its checkpoint, through the feed's
// pinned ordered walk. Every committed event counts, also those still held back
// by the horizon (a transaction open elsewhere): they are waiting as much as the rest.
// Their age runs to this statement: now() inside a caller's transaction is when it began.
// The walk is bounded (LAG_SCAN_BOUND events); its closing row says where it ended.
// Counted by stored type and version: a stored type renamed by version (v1 to one type,
// v2 to another) matches a type filter in SQL, and only some of its versions are wanted.
// One row at least, the groups' columns null when the walk found nothing.
const LAG_SQL = `
  WITH walk AS (
    SELECT e.event_id, e.type, e.schema_version, e.tx_id, e.global_position, e.recorded_at
    FROM read_feed_window($1::xid8, $2::bigint, pg_snapshot_xmax(pg_current_snapshot()), $3::integer, $8::integer,
                          $4::text[], $5::text[], $6::integer, $7::integer) AS e),
  stored_kinds AS (
    SELECT w.type, w.schema_version, count(*)::int AS items,
      extract(epoch FROM statement_timestamp() - min(w.recorded_at))::float8 AS oldest_age_seconds
    FROM walk w WHERE w.event_id IS NOT NULL GROUP BY w.type, w.schema_version)
  SELECT k.type, k.schema_version, k.items, k.oldest_age_seconds, ended.window_ended
  FROM (SELECT ${walkStoppedShortOfHead('walk')} AS window_ended) AS ended LEFT JOIN stored_kinds k ON true`;

interface StoredKindCount {
  type: string | null;
  schema_version: number | null;
  items: number | null;
  oldest_age_seconds: number | null;
  window_ended: boolean;
}

/**
 * An event the source cannot hand over fails its batch as a handler's error
 * does: recorded on the partition with the event's id, retried after a
 * backoff, and the other processors of the run go on. One this code has no
 * upcast path from is most often stored by newer code, during a rolling deploy:
 * it is retried until it passes, never given up on. An upcast step or a key
 * function that throws is a bug like a handler's, under the failure policy.
 */
const unreadable = (event: { eventId: string }, step: string, error: unknown, retry: BatchRetry) =>
  new BatchItemError(`${step} failed on event ${event.eventId}`, event.eventId, error, retry);

function guarded(upcaster: EventUpcaster): EventUpcaster {
  return {
    upcast(event) {
      try {
        return upcaster.upcast(event);
      } catch (error) {
        throw unreadable(event, 'upcasting', error, hasNoUpcastPath(error) ? 'until_it_passes' : 'failure_policy');
      }
    },
    writeVersion: (type) => upcaster.writeVersion(type),
    storedTypesOf: (type) => upcaster.storedTypesOf(type),
    currentTypeOf: (type, schemaVersion) => upcaster.currentTypeOf(type, schemaVersion),
  };
}

/** The global feed as a feed processor's source: read from a checkpoint, below the horizon, never skipping an event. */
export function eventFeedSource(options: EventFeedSourceOptions): FeedSource<RecordedEvent> {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ProcessorDefinitionError('a feed source needs its options: { upcaster, eventTypes, streamTypes, partitionKey }');
  // Without one, every batch failed on its first event, blamed on that event, until the partition failed.
  if (!isEventUpcaster(options.upcaster)) {
    throw new ProcessorDefinitionError("a feed source's upcaster must be an event upcaster: the store's (store.upcaster), NO_UPCASTING, or one of defineUpcasters");
  }
  // An empty list reads nothing: every batch would move the checkpoint past the events
  // unread, lost to the processor for good. (An unset setting split into a list, say.)
  // One text instead of a list, or a name PostgreSQL cannot hold, failed every read.
  for (const filter of ['eventTypes', 'streamTypes'] as const) {
    const types: unknown = options[filter];
    if (types === undefined) continue;
    // As the feed checks them on every read ('' from a setting with a trailing comma among them).
    if (!isFeedFilter(types)) {
      throw new ProcessorDefinitionError(`a feed source's ${filter} must be a list of one or more type names of 1 to ${MAX_NAME_LENGTH} characters, or be left out to read all`);
    }
    const [unstorable] = findUnstorableText(types, filter);
    if (unstorable) throw new ProcessorDefinitionError(`a feed source's ${unstorable.path} ${unstorable.message}`);
  }
  // A key function given as a field's name failed every event's batch, on every partition.
  if (options.partitionKey !== undefined && typeof options.partitionKey !== 'function') {
    throw new ProcessorDefinitionError("a feed source's partitionKey must be a function from an event to its key (text, or null to leave the event out)");
  }
  // Its events reach the processor under the new name and are filtered out: passed by for good too.
  const renamed = options.eventTypes && whyHandledTypeRenamed(options.upcaster, 'a feed source', options.eventTypes);
  if (renamed) throw new ProcessorDefinitionError(renamed);
  const { partitionKey } = options;
  const upcaster = guarded(options.upcaster);
  // The event's partition by its key, null for none. A key that is not text at run time
  // (a number read from an event's data, say) is a bug like a throwing key function:
  // hashed, every number would land in one partition, and 42 in another than '42'. So is
  // undefined (a field the event's data lacks): only null leaves an event out.
  const partitionOf = (event: RecordedEvent, partitions: number) => {
    try {
      const key: unknown = partitionKey ? partitionKey(event) : null;
      if (key === null) return null;
      if (typeof key !== 'string') throw new TypeError(`a partition key must be a string or null, not ${Array.isArray(key) ? 'an array' : typeof key}`);
      return partitionOfKey(key, partitions);
    } catch (error) {
      throw unreadable(event, 'the partition key', error, 'failure_policy');
    }
  };
  const storedTypes = options.eventTypes?.flatMap((type) => upcaster.storedTypesOf(type)) ?? null;
  const wantedTypes = options.eventTypes && new Set(options.eventTypes);
  // A stored name that is not a wanted type is an old name renamed to one: its other
  // versions may read as other types, so rows SQL matches may not be the partition's.
  // Its count then walks to its bound rather than stopping at the limit's worth of rows.
  const countsOnlyWanted = storedTypes === null || storedTypes.every((type) => wantedTypes?.has(type));
  // A stored version with no path to a current type counts: reading it fails its batch until it can.
  const readsAsWanted = (type: string, schemaVersion: number) => {
    if (!wantedTypes) return true;
    const current = upcaster.currentTypeOf(type, schemaVersion);
    return current === undefined || wantedTypes.has(current);
  };
  return {
    async read(db, { after, limit, partition }) {
      const page = await readFeed(
        db,
        {
          after,
          batchSize: limit,
          ...(options.eventTypes ? { eventTypes: options.eventTypes } : {}),
          ...(options.streamTypes ? { streamTypes: options.streamTypes } : {}),
          // One partition holds every stream: no filter to apply.
          ...(partitionKey || partition.count === 1 ? {} : { partition }),
        },
        upcaster,
      );
      if (!partitionKey) return { items: page.events, checkpoint: page.checkpoint, caughtUp: page.caughtUp };
      const mine = page.events.filter((event) => partitionOf(event, partition.count) === partition.index);
      return { items: mine, checkpoint: page.checkpoint, caughtUp: page.caughtUp };
    },
    maxBatchSize: MAX_FEED_BATCH_SIZE,
    positionOf: (event) => ({ txId: event.txId, position: event.globalPosition }),
    idOf: (event) => event.eventId,
    traceOf: (event) => event.metadata.traceparent,
    async lag(db: Queryable, { after, partition, limit }): Promise<SourceLag> {
      const walkBound = Math.max(limit + 1, LAG_SCAN_BOUND);
      const { rows } = await db.query<StoredKindCount>(LAG_SQL, [
        after.txId.toString(),
        after.position.toString(),
        // Past the bound: read_feed_window then always says where its walk ended.
        countsOnlyWanted ? limit + 1 : walkBound + 1,
        storedTypes,
        options.streamTypes ?? null,
        partitionKey ? null : partition.count,
        partitionKey ? null : partition.index,
        walkBound,
      ]);
      let counted = 0;
      let oldestAgeSeconds = 0;
      for (const row of rows) {
        if (row.type === null || row.schema_version === null || !readsAsWanted(row.type, row.schema_version)) continue;
        counted += row.items ?? 0;
        oldestAgeSeconds = Math.max(oldestAgeSeconds, row.oldest_age_seconds ?? 0);
      }
      const windowEnded = rows[0]?.window_ended ?? false;
      // Nothing of the partition's in the walk, and more past it: its items are somewhere
      // further on, no older than the first event it has still to read. That age says how
      // far behind it is; 0 would say it is not behind at all.
      if (windowEnded && counted === 0) oldestAgeSeconds = await feedReadingAge(db, after);
      return { items: Math.min(counted, limit), capped: counted > limit || windowEnded, oldestAgeSeconds: Math.max(0, oldestAgeSeconds) };
    },
  };
}
