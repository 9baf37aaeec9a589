import type { Db } from '../db';
import { describeError } from '../errors';
import { eventMarkProblem, storedHeadersProblem, subjectProblem } from '../eventstore';
import { inBatchSpan, SpanKind } from '../observability';
import type { ExternalOutcome, FencedWrites } from '../processing';
import type { JetStreamPublishing, PublishResult } from './jetStreamPublishing';
import { parkMessages, type ParkedSource, type Parking } from './parkedMessages';
import { PublisherConfigurationError } from './PublisherConfigurationError';
import { groupByKey, publishInOrder, type FailedPublish } from './publishInOrder';
import type { PublishMessage } from './PublishMessage';
import { refusedForGood, unacknowledgedForGood, type SubjectCaptured } from './refusals';
import type { RunTally } from './publisherRunReport';
import type { StoredMessage } from './storedMessage';
import { tracedSend } from './tracedSend';

/** What one item of a batch asks for: nothing (a private event, one sent before), a publish, or parking at once (an unusable subject). */
export type BatchEntry =
  | { kind: 'skip' }
  | { kind: 'publish'; message: PublishMessage }
  | { kind: 'park'; message: PublishMessage; problem: string };

/**
 * A message to send, or to park at once when NATS cannot carry its subject or
 * keeps it for itself (a wildcard would reach JetStream where no consumer looks;
 * on $JS.API a publish is an API call). `origin` says where the subject came from.
 */
export function sendOrPark(message: PublishMessage, origin: string): BatchEntry {
  const problem = subjectProblem(message.subject);
  return problem === undefined ? { kind: 'publish', message } : { kind: 'park', message, problem: `${origin}: ${problem}` };
}

/**
 * An integration message as stored, parked rather than sent when its headers
 * are no headers at all, or a rule added since refuses its headers or its
 * subject: a stored Nats-Msg-Id would send it under another message's id
 * (dropped as that one's duplicate), a rollup refused on every try would
 * hold its key back for good, and an Event-Id naming its own id would have
 * consumers take it for an event's.
 */
export function sendOrParkStoredMessage(message: StoredMessage): BatchEntry {
  if (message.unreadableHeaders !== undefined) return { kind: 'park', message, problem: message.unreadableHeaders };
  const problem = storedHeadersProblem(message.headers) ?? eventMarkProblem(message.headers, message.messageId);
  return problem === undefined ? sendOrPark(message, 'unusable subject') : { kind: 'park', message, problem: `headers an earlier append took: ${problem}` };
}

export interface PublishingSession {
  db: Db;
  publishing: () => Promise<JetStreamPublishing>;
  captured: SubjectCaptured;
  capturedNow: SubjectCaptured;
  /** Whether the message is larger than all the bytes the stream capturing its subject may hold. */
  largerThanStream(message: PublishMessage): Promise<boolean>;
  timeoutMs: number;
  tally: RunTally;
}

/** Parks messages, fenced by the lease, and notes them as the batch's. */
type Park = (parkings: readonly Parking[]) => Promise<void>;

/** What a batch sent; a parking that failed stops the batch, and is thrown once the batch is counted. */
interface SentBatch {
  results: PublishResult[];
  parkingFailure?: { error: unknown };
}

async function publishAll(session: PublishingSession, messages: readonly PublishMessage[], park: Park, deadline: number): Promise<SentBatch> {
  let publishing: JetStreamPublishing;
  try {
    publishing = await session.publishing();
  } catch (error) {
    // A stream no retry can set up ends the run, loudly.
    if (error instanceof PublisherConfigurationError) throw error;
    // Connecting or setting up the stream failed: NATS is down or away. A round would
    // have sent each key's first message only; the rest were not tried, and have no result.
    const firstOfEachKey = groupByKey(messages).flatMap((key) => key.slice(0, 1));
    return { results: firstOfEachKey.map((message) => ({ kind: 'unreachable', message, error })) };
  }
  let parkingFailure: SentBatch['parkingFailure'];
  // Why a failed publish never succeeds (the error it is parked with), or undefined while it may.
  const forGood = async (result: FailedPublish): Promise<{ reason: unknown } | undefined> => {
    if (result.kind === 'unreachable') return unacknowledgedForGood(result.error, result.message.subject, session.captured);
    const never = await refusedForGood(result.error, result.message.subject, session.capturedNow, () => session.largerThanStream(result.message));
    return never ? { reason: result.error } : undefined;
  };
  // Once a parking failed, nothing more goes out: the batch is thrown, and its next try sends it again.
  const stopped = () => parkingFailure !== undefined;
  // A message parked for another reason than its publish's error (a no_ack stream behind a
  // "timeout") has its result say that reason: the run's last error and its span tell it.
  const parkedFor = new Map<string, unknown>();
  const results = await publishInOrder(publishing, messages, { timeoutMs: session.timeoutMs, deadline, stopped }, async (failed) => {
    const verdicts = await Promise.all(failed.map(forGood));
    const never = verdicts.map((verdict) => verdict !== undefined);
    const parkings = failed.flatMap((result, index) => {
      const verdict = verdicts[index];
      return verdict ? [{ messageId: result.message.messageId, orderingKey: result.message.orderingKey, subject: result.message.subject, error: describeError(verdict.reason) }] : [];
    });
    if (parkings.length === 0) return failed.map(() => false);
    // Parked before the key goes on: sent first, its next messages would be stored ahead
    // of it should the parking not land (the lease lost, the database away), and a retry
    // find it sendable by then (the stream's limit raised).
    try {
      await park(parkings);
    } catch (error) {
      parkingFailure = { error };
      return failed.map(() => false);
    }
    failed.forEach((result, index) => {
      const verdict = verdicts[index];
      if (verdict && verdict.reason !== result.error) parkedFor.set(result.message.messageId, verdict.reason);
    });
    return never;
  });
  const told = (result: PublishResult): PublishResult => {
    if (result.kind === 'published' || !parkedFor.has(result.message.messageId)) return result;
    return { ...result, error: parkedFor.get(result.message.messageId) };
  };
  return { results: parkedFor.size === 0 ? results : results.map(told), ...(parkingFailure ? { parkingFailure } : {}) };
}

/** How far a batch got, and which of its messages JetStream stored and which are parked, wherever they stand in it. */
export interface PublishedBatch extends ExternalOutcome {
  published: ReadonlySet<string>;
  parked: ReadonlySet<string>;
}

/** Where a batch stands: the run's deadline, and the lease its writes are fenced by. */
export interface BatchLimits {
  deadline: number;
  /** For requeued messages: the snapshot they were read in, so a requeue it does not show is kept when one is parked again. */
  requeuesSeenIn?: string | null;
  /** Parking fenced by the lease of the partition or of the requeue turn (a stalled holder's successor may have sent the message since). */
  fenced: FencedWrites;
}

/**
 * Publishes a batch in per-key order and parks what NATS refused for good,
 * then says how many leading items are done: sent, parked or skipped, and which
 * it sent. The first item still waiting (NATS unreachable, a passing refusal,
 * or not sent because the deadline came between two rounds) and all after it
 * are left for the next try, which skips those parked and those its partition
 * recorded as sent (publishedAhead.ts).
 */
export async function publishBatch(
  session: PublishingSession,
  source: ParkedSource,
  entries: readonly BatchEntry[],
  within: BatchLimits,
): Promise<PublishedBatch> {
  const { deadline } = within;
  // Parked, by this batch or by another run already: settled, as sent ones are.
  const parked = new Set<string>();
  // Only what this batch parked counts: a message another run parked meanwhile is parked already.
  const parkedNow = new Set<string>();
  const park: Park = async (parkings) => {
    const now = await within.fenced((tx) => parkMessages(tx, source, parkings, within.requeuesSeenIn ?? null));
    for (const parking of parkings) parked.add(parking.messageId);
    for (const messageId of now) parkedNow.add(messageId);
  };
  // Those NATS cannot carry, parked before anything of the batch goes out (see publishAll).
  const atOnce: Parking[] = entries.flatMap((entry) =>
    entry.kind === 'park'
      ? [{ messageId: entry.message.messageId, orderingKey: entry.message.orderingKey, subject: entry.message.subject, error: entry.problem }]
      : [],
  );
  if (atOnce.length > 0) {
    await park(atOnce);
    // Counted now: a run that then cannot set up its stream still counts what it parked.
    session.tally.countBatch([], parked, parkedNow);
    parkedNow.clear();
  }
  const sending = entries.flatMap((entry) => (entry.kind === 'publish' ? [tracedSend(entry.message)] : []));
  const messages = sending.map((send) => send.message);
  // What each message carries: its send span's traceparent, else the one it came with.
  const traces = sending.map((send) => send.span.traceparent);
  const attributes = { 'messaging.system': 'nats', 'messaging.operation.type': 'send', 'messaging.batch.message_count': messages.length };
  const { results, parkingFailure } =
    messages.length > 0 ? await inBatchSpan('publish', traces, attributes, () => publishAll(session, messages, park, deadline), SpanKind.PRODUCER) : { results: [] };
  const spans = new Map(sending.map((send) => [send.message.messageId, send.span]));
  for (const result of results) {
    spans.get(result.message.messageId)?.end(result.kind === 'published' ? undefined : result.error);
    spans.delete(result.message.messageId);
  }
  // Messages not sent this time (an earlier message of their key was not taken, or the deadline came), and said so.
  for (const span of spans.values()) span.end(new Error('not sent this time: an earlier message of its key was not taken, or the run ended'));
  // What JetStream stored counts, also when a parking failed (the lease lost, say).
  session.tally.countBatch(results, parked, parkedNow);
  if (parkingFailure) throw parkingFailure.error;
  const published = new Set<string>();
  let error: unknown;
  for (const result of results) {
    if (result.kind === 'published') published.add(result.message.messageId);
    else if (!parked.has(result.message.messageId)) error ??= result.error;
  }
  const settled = (messageId: string) => published.has(messageId) || parked.has(messageId);
  const waiting = entries.findIndex((entry) => entry.kind !== 'skip' && !settled(entry.message.messageId));
  return { done: waiting === -1 ? entries.length : waiting, published, parked, ...(error === undefined ? {} : { error }) };
}
