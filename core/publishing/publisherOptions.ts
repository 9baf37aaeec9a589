import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Db } from '../db';
import { subjectProblem } from '../eventstore';
import { DEFAULT_INTERRUPTION_BACKOFF, DEFAULT_LEASE_TTL_MS, type Backoff } from '../processing';
import type { OutboxRetention } from './outboxCleanup';
import { DEFAULT_SUBJECT_PREFIX, eventRouting, type EventRouting } from './eventRouting';
import type { PublishStreamConfig } from './jetStreamStream';
import { PublisherConfigurationError } from './PublisherConfigurationError';
import { checkPublisherParts, checkPublisherSettings } from './publisherSettingsChecks';

export const DEFAULT_PUBLISH_TIMEOUT_MS = 5_000;
/**
 * How long a copy of a message may come after the first (its publish timing out, a
 * pause, a lease running out, then the next scheduled run): the duplicate window must be
 * longer, and the lease, the publish timeout and the longest pause together shorter.
 */
export const DEFAULT_RETRY_HORIZON_MS = 5 * 60_000;

export interface PublisherOptions {
  db: Db;
  /**
   * Opens a NATS connection; called again when the last one closed for good.
   * Bound it (`connectWithin(connect, ms)`): the client waits 20 s for each
   * address of a host that takes the socket and never answers, and a run's
   * deadline counts that wait too.
   */
  connect: () => Promise<NatsConnection>;
  /** Which stored events go out, on which subjects; default `<subjectPrefix>.<streamType>.<eventType>` for all. */
  routing?: EventRouting;
  /** The prefix of the default routing's subjects, captured by the stream by default; default "events". */
  subjectPrefix?: string;
  stream?: Partial<PublishStreamConfig>;
  /** Streams (and ordering keys) are split over this many leased partitions; default 4. Keep it fixed once in use. */
  partitions?: number;
  /** Unique per instance; default host, pid and a random suffix. */
  holder?: string;
  leaseTtlMs?: number;
  /** Items read per batch; default 1,000. */
  batchSize?: number;
  /** How long a round of publishes waits for its acknowledgements; default DEFAULT_PUBLISH_TIMEOUT_MS. */
  publishTimeoutMs?: number;
  /**
   * The subject prefix JetStream's acknowledgements come back on; default
   * "_INBOX". Set it where permissions allow replies only under another prefix.
   */
  inboxPrefix?: string;
  /** The pause after NATS did not answer (or refused for a passing reason), doubling while it goes on. */
  retryBackoff?: Backoff;
  /**
   * Longest expected time between a publish whose acknowledgement was lost and
   * its retry (its timeout, a retry's pause, a lease expiring, the next scheduled
   * run). The duplicate window must be longer, and the first three together
   * shorter; default 5 minutes.
   */
  retryHorizonMs?: number;
  /** How long integration messages stay in the outbox, counted from when they were written (deleted only once published), and how many one run deletes. */
  retention?: Partial<OutboxRetention>;
  /** Told when a batch must wait (NATS refused it or did not answer, routing code threw, the database answered too late for the lease), and for how long: a warning to log. May be async; what it throws or rejects with is ignored. */
  onRetry?: (report: { processor: string; partition: number; error: unknown; retryInMs: number }) => unknown;
}

export type PublisherSettings = Required<Omit<PublisherOptions, 'stream' | 'retention' | 'subjectPrefix' | 'onRetry'>> & {
  stream: PublishStreamConfig;
  retention: OutboxRetention;
  onRetry: PublisherOptions['onRetry'];
};

const MINUTE = 60_000;

export function publisherSettings(options: PublisherOptions): PublisherSettings {
  checkPublisherParts(options);
  const prefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  // Every default subject starts with it: with a bad one every event would be parked.
  // Checked before the default routing is built on it, under this option's name.
  const prefixProblem = subjectProblem(prefix);
  if (prefixProblem !== undefined) throw new PublisherConfigurationError(`subjectPrefix: ${prefixProblem}`);
  const settings: PublisherSettings = {
    db: options.db,
    connect: options.connect,
    routing: options.routing ?? eventRouting({ prefix }),
    partitions: options.partitions ?? 4,
    holder: options.holder ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    leaseTtlMs: options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
    batchSize: options.batchSize ?? 1_000,
    publishTimeoutMs: options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS,
    inboxPrefix: options.inboxPrefix ?? '_INBOX',
    retryBackoff: options.retryBackoff ?? DEFAULT_INTERRUPTION_BACKOFF,
    retryHorizonMs: options.retryHorizonMs ?? DEFAULT_RETRY_HORIZON_MS,
    stream: {
      name: options.stream?.name ?? 'EVENTS',
      subjects: options.stream?.subjects ?? [`${prefix}.>`],
      duplicateWindowMs: options.stream?.duplicateWindowMs ?? 10 * MINUTE,
    },
    retention: {
      retentionMs: options.retention?.retentionMs ?? 24 * 60 * MINUTE,
      batchSize: options.retention?.batchSize ?? 1_000,
      maxBatches: options.retention?.maxBatches ?? 10,
    },
    onRetry: options.onRetry,
  };
  checkPublisherSettings(settings);
  return settings;
}
