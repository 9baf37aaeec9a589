import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Db } from '../db';
import type { CleanupPolicy } from './outboxMaintenance';
import { DEFAULT_SUBJECT_PREFIX } from './outboxRouting';
import type { OutboxStreamConfig } from './jetStreamSetup';

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export interface OutboxPublisherOptions {
  db: Db;
  /** Opens a NATS connection; called again when the last one closed for good. */
  connect: () => Promise<NatsConnection>;
  stream?: Partial<OutboxStreamConfig>;
  /** The prefix of the routing's subjects, captured by the stream by default. */
  subjectPrefix?: string;
  /** Streams are split over this many leased partitions; default 4. Keep it fixed once in use. */
  partitions?: number;
  /** Unique per instance; default host, pid and a random suffix. */
  holder?: string;
  leaseTtlMs?: number;
  batchSize?: number;
  publishTimeoutMs?: number;
  /**
   * The subject prefix JetStream's acknowledgements come back on; default
   * "_INBOX". Set it where permissions allow replies only under another prefix.
   */
  inboxPrefix?: string;
  /** Refusals of one message before it is parked; default 5. */
  maxAttempts?: number;
  /** Delay of a refused message (and its stream) before its next attempt. */
  refusalBackoff?: Backoff;
  /** Pause of the whole run while NATS is unreachable. */
  unreachableBackoff?: Backoff;
  /**
   * Longest expected time between a publish whose acknowledgement was lost and
   * its retry (a lease expiring, the next scheduled run). The duplicate window
   * must be longer; default 5 minutes.
   */
  retryHorizonMs?: number;
  cleanup?: Partial<CleanupPolicy>;
}

export type PublisherSettings = Required<Omit<OutboxPublisherOptions, 'stream' | 'cleanup' | 'subjectPrefix'>> & {
  stream: OutboxStreamConfig;
  cleanup: CleanupPolicy;
};

export class OutboxConfigurationError extends Error {
  readonly code = 'OUTBOX_CONFIGURATION';
  constructor(message: string) {
    super(message);
    this.name = 'OutboxConfigurationError';
  }
}

const MINUTE = 60_000;

export function publisherSettings(options: OutboxPublisherOptions): PublisherSettings {
  const prefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  const settings: PublisherSettings = {
    db: options.db,
    connect: options.connect,
    partitions: options.partitions ?? 4,
    holder: options.holder ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    leaseTtlMs: options.leaseTtlMs ?? 30_000,
    batchSize: options.batchSize ?? 1_000,
    publishTimeoutMs: options.publishTimeoutMs ?? 5_000,
    inboxPrefix: options.inboxPrefix ?? '_INBOX',
    maxAttempts: options.maxAttempts ?? 5,
    refusalBackoff: options.refusalBackoff ?? { baseMs: 1_000, maxMs: MINUTE },
    unreachableBackoff: options.unreachableBackoff ?? { baseMs: 200, maxMs: 5_000 },
    retryHorizonMs: options.retryHorizonMs ?? 5 * MINUTE,
    stream: {
      name: options.stream?.name ?? 'EVENTS',
      subjects: options.stream?.subjects ?? [`${prefix}.>`],
      duplicateWindowMs: options.stream?.duplicateWindowMs ?? 10 * MINUTE,
    },
    cleanup: {
      retentionMs: options.cleanup?.retentionMs ?? 24 * 60 * MINUTE,
      batchSize: options.cleanup?.batchSize ?? 1_000,
      maxBatches: options.cleanup?.maxBatches ?? 10,
    },
  };
  if (settings.stream.duplicateWindowMs <= settings.retryHorizonMs) {
    throw new OutboxConfigurationError(
      `the duplicate window (${settings.stream.duplicateWindowMs} ms) must be longer than the retry horizon (${settings.retryHorizonMs} ms), or a retried publish could reach consumers twice`,
    );
  }
  if (settings.leaseTtlMs >= settings.retryHorizonMs) {
    throw new OutboxConfigurationError('the lease TTL must be shorter than the retry horizon');
  }
  if (!Number.isInteger(settings.maxAttempts) || settings.maxAttempts < 1) {
    throw new OutboxConfigurationError('maxAttempts must be a positive integer');
  }
  return settings;
}
