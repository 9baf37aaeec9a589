import type { Checkpoint } from './checkpoint';
import type { JsonObject, JsonValue } from './json';

/** Every event metadata carries the request's ids; further fields are the user's own. */
export interface EventMetadata {
  correlationId?: string;
  causationId?: string;
  commandId?: string;
  /** W3C trace context of the append that stored the event (a child of the request's), or of the request. */
  traceparent?: string;
  tracestate?: string;
  [field: string]: JsonValue | undefined;
}

/** The minimal shape of a domain event: a discriminant and a JSON object payload. */
export interface EventShape {
  type: string;
  data: object;
}

export interface NewEventOptions {
  /** Defaults to a random UUID; give one to make a retried append detectably the same. */
  eventId?: string;
  /** Defaults to the type's current schema version (1 without upcasters). */
  schemaVersion?: number;
  metadata?: EventMetadata;
}

/** An event to append. An intersection distributes over a union, so `NewEvent<A | B>` keeps A and B apart. */
export type NewEvent<E extends EventShape = EventShape> = E & NewEventOptions;

export interface RecordedEventEnvelope {
  eventId: string;
  streamId: string;
  streamType: string;
  /** Position within the stream: 1, 2, 3, ... without gaps. */
  version: number;
  globalPosition: bigint;
  /** The writing transaction's id; with `globalPosition`, the event's place in the global feed. */
  txId: bigint;
  schemaVersion: number;
  metadata: EventMetadata;
  recordedAt: Date;
}

export type RecordedEvent<E extends EventShape = EventShape> = E & RecordedEventEnvelope;

/**
 * What the stream must look like for an append to proceed:
 * an exact current version (0 = the stream does not exist yet), or one of the modes.
 */
export type ExpectedVersion = number | 'no_stream' | 'stream_exists' | 'any';

/**
 * The command an append carries out: its outcome is stored in the same call as
 * the events, so a retried command can be answered from it instead of run again.
 */
export interface IdempotencyRecord {
  commandId: string;
  commandType: string;
  /** Identifies the payload, so the same id with another payload is told apart. */
  payloadHash: string;
  correlationId?: string;
  /**
   * Whether the command already has a record: `pending` for a sent command a
   * worker now runs, whose record the append completes; `none` (the default)
   * when the append creates it, failing if the id turns out to be taken.
   */
  existing?: 'none' | 'pending';
}

/**
 * A message for other services that is not a stored event (an integration
 * message): written to the outbox by the append that stores its command's
 * events, in the same statement, and published to NATS by the publisher.
 */
export interface IntegrationMessage {
  /** The NATS subject it is published on. */
  subject: string;
  body: JsonObject;
  /** Messages sharing a key are published in the order they were written; a stream id or an entity id. */
  orderingKey: string;
  headers?: Readonly<Record<string, string>>;
  /** Its JetStream message id (deduplication); default a new UUID. */
  messageId?: string;
}

export interface AppendRequest<E extends EventShape = EventShape> {
  streamId: string;
  streamType: string;
  expectedVersion: ExpectedVersion;
  events: readonly NewEvent<E>[];
  /** Merged into every event's metadata; an event's own fields win. */
  metadata?: EventMetadata;
  idempotency?: IdempotencyRecord;
  /** Written to the outbox with the events, after them, in the same statement. */
  messages?: readonly IntegrationMessage[];
}

export interface AppendedEvent {
  eventId: string;
  version: number;
  globalPosition: bigint;
}

export interface AppendResult {
  streamId: string;
  /** The stream's version after the append: pass it as the next expected version. */
  nextExpectedVersion: number;
  events: AppendedEvent[];
  /**
   * The feed position of the append's last event: once a feed reader's (or a
   * projection's) checkpoint reaches it, the reader has seen this append.
   */
  checkpoint: Checkpoint;
}

export interface ReadStreamOptions {
  /** First version to return, inclusive; default 1. */
  fromVersion?: number;
  /** Last version to return, inclusive; default the stream's current version. */
  toVersion?: number;
}

export interface StreamSlice<E extends EventShape = EventShape> {
  streamId: string;
  streamType: string;
  /** The stream's current version, which may be past the slice's last event. */
  streamVersion: number;
  events: RecordedEvent<E>[];
}

export interface ReadFeedOptions {
  /** Default: the start of the feed. */
  after?: Checkpoint;
  /** Default 500. */
  batchSize?: number;
  eventTypes?: readonly string[];
  streamTypes?: readonly string[];
  /** Only the streams of one partition: `stream_partition(stream_id, count) = index`. */
  partition?: FeedPartition;
}

/**
 * One of `count` disjoint slices of the feed, split by stream, so a stream's
 * events all land in one partition and keep their order there.
 */
export interface FeedPartition {
  index: number;
  count: number;
}

export interface FeedPage<E extends EventShape = EventShape> {
  events: RecordedEvent<E>[];
  /**
   * Where the next read starts. With filters it can move past events that did
   * not match, so a filtered reader does not rescan them.
   */
  checkpoint: Checkpoint;
  /** True when the page ended at the visible head of the feed rather than at the batch size. */
  caughtUp: boolean;
}
