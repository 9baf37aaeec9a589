import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Db } from '../db';
import { DEFAULT_INTERRUPTION_BACKOFF, isBatchSize, MAX_BATCH_SIZE, type Backoff } from '../processing';
import type { OutboxRetention } from './outboxCleanup';
import { subjectSyntaxProblem } from '../eventstore';
import { DEFAULT_SUBJECT_PREFIX, eventRouting, type EventRouting } from './eventRouting';
import type { PublishStreamConfig } from './jetStreamStream';
import { subjectCovers } from './subjectCoverage';

export const DEFAULT_PUBLISH_TIMEOUT_MS = 5_000;
/** How long a message refused for a while is retried before the run gives up on it for now. */
export const DEFAULT_RETRY_HORIZON_MS = 5 * 60_000;

export interface PublisherOptions {
  db: Db;
  /** Opens a NATS connection; called again when the last one closed for good. */
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
   * its retry (a lease expiring, the next scheduled run). The duplicate window
   * must be longer; default 5 minutes.
   */
  retryHorizonMs?: number;
  /** How long integration messages stay in the outbox, counted from when they were written (deleted only once published), and how many one run deletes. */
  retention?: Partial<OutboxRetention>;
  /** Told when a batch must wait for NATS, and for how long: a warning to log. */
  onRetry?: (report: { processor: string; partition: number; error: unknown; retryInMs: number }) => void;
}

export type PublisherSettings = Required<Omit<PublisherOptions, 'stream' | 'retention' | 'subjectPrefix' | 'onRetry'>> & {
  stream: PublishStreamConfig;
  retention: OutboxRetention;
  onRetry: PublisherOptions['onRetry'];
};

export class PublisherConfigurationError extends Error {
  readonly code = 'PUBLISHER_CONFIGURATION';
  constructor(message: string) {
    super(message);
    this.name = 'PublisherConfigurationError';
  }
}

const MINUTE = 60_000;
// PostgreSQL subtracts the retention from now(): one that is not a number, or is too
// long to subtract, would fail every run's cleanup, after its publishing.
const MAX_RETENTION_MS = 1_000 * 365 * 24 * 60 * MINUTE;

function checkRetention({ retentionMs, batchSize, maxBatches }: OutboxRetention): void {
  if (!(retentionMs >= 0 && retentionMs <= MAX_RETENTION_MS)) {
    throw new PublisherConfigurationError(`retention.retentionMs must be a number of milliseconds from 0 to ${MAX_RETENTION_MS} (a thousand years), not ${retentionMs}`);
  }
  // A batch of 0 deletes nothing; one that is not a whole number, or too large for a
  // LIMIT, fails the statement. maxBatches bounds a run's work, so it must be finite.
  for (const [name, value] of [['batchSize', batchSize], ['maxBatches', maxBatches]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new PublisherConfigurationError(`retention.${name} must be a positive integer, not ${value}`);
  }
}

export function publisherSettings(options: PublisherOptions): PublisherSettings {
  const prefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  const settings: PublisherSettings = {
    db: options.db,
    connect: options.connect,
    routing: options.routing ?? eventRouting({ prefix }),
    partitions: options.partitions ?? 4,
    holder: options.holder ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    leaseTtlMs: options.leaseTtlMs ?? 30_000,
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
  if (settings.stream.duplicateWindowMs <= settings.retryHorizonMs) {
    throw new PublisherConfigurationError(
      `the duplicate window (${settings.stream.duplicateWindowMs} ms) must be longer than the retry horizon (${settings.retryHorizonMs} ms), or a retried publish could reach consumers twice`,
    );
  }
  if (settings.leaseTtlMs >= settings.retryHorizonMs) {
    throw new PublisherConfigurationError('the lease TTL must be shorter than the retry horizon');
  }
  // The engine refuses it too, but only once a run starts: refused here with the other settings.
  if (!isBatchSize(settings.batchSize)) {
    throw new PublisherConfigurationError(`batchSize must be an integer from 1 to ${MAX_BATCH_SIZE}, not ${settings.batchSize}`);
  }
  checkRetention(settings.retention);
  checkInbox(settings.inboxPrefix, settings.stream.subjects);
  return settings;
}

/**
 * The acknowledgements come to `<inboxPrefix>.<id>.<token>`: a subject, and one
 * the stream does not capture, or JetStream would store every acknowledgement
 * as a message of the stream, for every consumer to receive.
 */
function checkInbox(inboxPrefix: string, streamSubjects: readonly string[]): void {
  const problem = subjectSyntaxProblem(inboxPrefix);
  if (problem !== undefined) throw new PublisherConfigurationError(`inboxPrefix: ${problem}`);
  const reply = `${inboxPrefix}.id.token`;
  const capturing = streamSubjects.find((pattern) => subjectCovers(pattern, reply));
  if (capturing !== undefined) {
    throw new PublisherConfigurationError(`inboxPrefix ${JSON.stringify(inboxPrefix)} is under the stream's subject ${JSON.stringify(capturing)}: JetStream would store every acknowledgement`);
  }
}
