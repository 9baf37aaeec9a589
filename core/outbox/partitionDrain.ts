import { renewPartitionLease, type PartitionLease } from '../leases';
import {
  markPublished,
  readPendingMessages,
  recordRefusal,
  START_OF_OUTBOX,
  type OutboxCursor,
  type OutboxMessage,
} from './outboxMessages';
import type { JetStreamPublishing, PublishResult } from './jetStreamPublishing';
import { publishInStreamOrder } from './publishInStreamOrder';
import { describeError } from '../errors/describeError';
import type { PublisherSettings } from './publisherOptions';
import type { RunTally } from './publisherRunReport';

export type DrainOutcome = 'drained' | 'lost' | 'deadline';

export interface DrainContext {
  settings: PublisherSettings;
  publishing: () => Promise<JetStreamPublishing>;
  tally: RunTally;
  deadline: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Marks a promise handled now; awaiting it later still throws. */
function quietly<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * Publishes one partition until it is empty, the lease is lost or the deadline
 * passes. The next batch is read while the current one is published, on from a
 * cursor (no row can appear behind it: see outbox_pending_batch), and marking
 * overlaps the next publishes.
 *
 * A stream whose message failed or waits out a backoff must not go on past it, so
 * its later messages are skipped ("blocked") while the cursor runs ahead. Hence the
 * cursor returns to the start after a failure and at the end of the partition:
 * only reaching the end from the start, after every mark has committed, with
 * nothing to send, means drained.
 */
export async function drainPartition(context: DrainContext, lease: PartitionLease): Promise<DrainOutcome> {
  const { settings, deadline } = context;
  const partition = { index: lease.partition, count: lease.partitions };
  const read = (after: OutboxCursor) => quietly(readPendingMessages(settings.db, partition, settings.batchSize, after));
  let current = lease;
  let renewedAt = Date.now();
  let failures = 0;
  let cursor: OutboxCursor = START_OF_OUTBOX;
  const blocked = new Set<string>();
  let marking: Promise<void> = Promise.resolve();
  let next = read(cursor);
  const restartFromTheStart = async () => {
    await marking;
    cursor = START_OF_OUTBOX;
    blocked.clear();
    next = read(cursor);
  };
  try {
    while (Date.now() < deadline) {
      if (Date.now() - renewedAt > settings.leaseTtlMs / 2) {
        const renewed = await renewPartitionLease(settings.db, current, settings.leaseTtlMs);
        if (!renewed) return 'lost';
        current = renewed;
        renewedAt = Date.now();
      }
      const messages = await next;
      const sendable = takeSendable(messages, blocked);
      const last = messages[messages.length - 1];
      if (!last || (sendable.length === 0 && messages.length < settings.batchSize)) {
        // The end of the partition, with nothing (more) to send.
        if (cursor === START_OF_OUTBOX) return 'drained';
        await restartFromTheStart();
        continue;
      }
      cursor = { txId: last.txId, id: last.id };
      next = read(cursor);
      if (sendable.length === 0) continue;
      const results = await publish(context, sendable);
      for (const result of results) {
        context.tally.count(result);
        if (result.kind !== 'published') blocked.add(result.message.streamId);
      }
      const previous = marking;
      marking = quietly(previous.then(() => markPublished(settings.db, publishedIds(results))));
      await recordRefusals(settings, results, context.tally);
      if (results.some((result) => result.kind === 'unreachable')) {
        await sleep(Math.max(0, Math.min(backoff(settings, failures++), deadline - Date.now())));
        await restartFromTheStart();
      } else {
        failures = 0;
      }
    }
    return 'deadline';
  } finally {
    await marking;
  }
}

/** The messages to send now, in order: none of a blocked stream, none from a delayed message on. */
function takeSendable(messages: readonly OutboxMessage[], blocked: Set<string>): OutboxMessage[] {
  const sendable: OutboxMessage[] = [];
  for (const message of messages) {
    if (message.delayed) blocked.add(message.streamId);
    if (!blocked.has(message.streamId)) sendable.push(message);
  }
  return sendable;
}

async function publish(context: DrainContext, messages: readonly OutboxMessage[]): Promise<PublishResult[]> {
  try {
    return await publishInStreamOrder(await context.publishing(), messages, context.settings.publishTimeoutMs);
  } catch (error) {
    // Connecting or setting up the stream failed: NATS is down or misconfigured.
    return messages.map((message) => ({ kind: 'unreachable', message, error }));
  }
}

const publishedIds = (results: readonly PublishResult[]) =>
  results.flatMap((result) => (result.kind === 'published' ? [result.message.id] : []));

async function recordRefusals(settings: PublisherSettings, results: readonly PublishResult[], tally: RunTally): Promise<void> {
  for (const result of results) {
    if (result.kind !== 'refused') continue;
    const { parked } = await recordRefusal(settings.db, result.message.id, describeError(result.error), {
      maxAttempts: settings.maxAttempts,
      backoffBaseMs: settings.refusalBackoff.baseMs,
      backoffMaxMs: settings.refusalBackoff.maxMs,
    });
    if (parked) tally.report.parked++;
  }
}

function backoff(settings: PublisherSettings, failures: number): number {
  const { baseMs, maxMs } = settings.unreachableBackoff;
  return Math.min(maxMs, baseMs * 2 ** failures) * (0.5 + Math.random() / 2);
}
