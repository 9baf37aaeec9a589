import type { Db, Queryable } from '../db';
import { appendToStream } from './appendToStream';
import { readEvent } from './readEvent';
import { readFeed } from './readFeed';
import { readStream } from './readStream';
import type {
  AppendRequest,
  AppendResult,
  EventShape,
  FeedPage,
  ReadFeedOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamSlice,
} from './types';
import { NO_UPCASTING, type EventUpcaster } from './upcasterPort';
import { storeOptionsError } from './validateAppend';

export interface EventStoreOptions {
  /** Largest accepted event (data plus metadata, as JSON bytes): a whole number from 1 to MAX_APPEND_BYTES; default 256 KiB. */
  maxEventBytes?: number;
  /** Brings stored events to their current shape on every read; see core/upcasting. */
  upcaster?: EventUpcaster;
}

/**
 * The event store bound to a database. Each method also accepts a transaction
 * (`tx`) to run inside, e.g. to append and write other rows atomically.
 */
export interface EventStore {
  /** The upcaster applied on every read, for other readers of the events table (aggregate loads). */
  readonly upcaster: EventUpcaster;
  appendToStream<E extends EventShape>(request: AppendRequest<E>, tx?: Queryable): Promise<AppendResult>;
  readStream<E extends EventShape = EventShape>(
    streamId: string,
    options?: ReadStreamOptions,
    tx?: Queryable,
  ): Promise<StreamSlice<E>>;
  readEvent<E extends EventShape = EventShape>(eventId: string, tx?: Queryable): Promise<RecordedEvent<E> | null>;
  readFeed<E extends EventShape = EventShape>(options?: ReadFeedOptions, tx?: Queryable): Promise<FeedPage<E>>;
}

export function createEventStore(db: Db, options: EventStoreOptions = {}): EventStore {
  // Refused now, not at the first append.
  const problem = storeOptionsError(options);
  if (problem) throw problem;
  const upcaster = options.upcaster ?? NO_UPCASTING;
  const appendOptions = {
    upcaster,
    ...(options.maxEventBytes === undefined ? {} : { maxEventBytes: options.maxEventBytes }),
  };
  return {
    upcaster,
    // Given a pool as its `tx` (a Queryable may be one), the append runs on its own there, as it does on the store's.
    appendToStream: (request, tx) => appendToStream(tx ?? db, request, appendOptions),
    readStream: (streamId, readOptions, tx) => readStream(tx ?? db, streamId, readOptions, upcaster),
    readEvent: (eventId, tx) => readEvent(tx ?? db, eventId, upcaster),
    readFeed: (feedOptions, tx) => readFeed(tx ?? db, feedOptions, upcaster),
  };
}
