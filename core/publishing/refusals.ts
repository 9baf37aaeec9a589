import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import { InvalidArgumentError, InvalidSubjectError, NoRespondersError, TimeoutError } from '@nats-io/transport-node';
import { UnacknowledgingStreamError } from './UnacknowledgingStreamError';

/**
 * JetStream's answers that say the message itself can never be stored, however
 * often it is sent (nats-server's errors.json): too large for the stream,
 * headers over 64 KiB, a sealed stream, an expectation the message carries.
 * Every other refusal is passing (no leader, insufficient resources, storage
 * or stream limits that clear, too many requests, an offline stream, a
 * clustered stream's own sequence out of step: 10063, which no header asks for
 * and errors.json answers with 503) and is retried, never parked: parking one
 * would put its message out of order.
 */
const FOREVER_REFUSED = new Set([
  10054, // message size exceeds maximum allowed
  10097, // header size exceeds maximum allowed
  10109, // invalid operation on sealed stream
  10060, // expected stream does not match
  10070, // wrong last msg ID
  10071, // wrong last sequence
  10164, // wrong last sequence
  10193, // an expected subject for the last sequence, without the sequence (newer servers)
]);

// The stream's store refused the message: most often a limit with discard new ("maximum
// messages exceeded", "maximum bytes exceeded", per subject too), which clears as the
// stream empties; or the account's JetStream storage is used up ("resource limits
// exceeded for account"), which clears as its streams empty. Final only for a message
// larger than all the stream, or the account, may ever hold.
const REFUSED_UNTIL_ROOM = new Set([
  10077, // the stream's store failed
  10002, // resource limits exceeded for account
]);

/**
 * Which stream captures a subject, as publishing needs to know: none, one
 * that acknowledges what it stores, or one set to `no_ack` (named), which
 * stores and never answers.
 */
export type SubjectCapture = { kind: 'none' } | { kind: 'acknowledging' } | { kind: 'unacknowledging'; stream: string };

/** Which stream captures a subject: asked only after "no responders" or no acknowledgement. */
export type SubjectCaptured = (subject: string) => Promise<SubjectCapture>;

/** Whether the message is larger than all the bytes the stream capturing its subject (or its account) may hold: asked only after a refusal for room. */
export type LargerThanStream = () => Promise<boolean>;

/**
 * Whether a refused publish can never succeed, so its message is parked, or
 * may succeed later, so it is retried. A message over the server's max_payload
 * or on a subject NATS cannot carry never will; "no responders" is final only
 * when no stream captures the subject at all (JetStream restarting answers it too);
 * a full stream or account is final only for a message larger than all it may hold.
 */
export async function refusedForGood(
  error: unknown,
  subject: string,
  captured: SubjectCaptured,
  largerThanStream: LargerThanStream = () => Promise.resolve(false),
): Promise<boolean> {
  if (error instanceof InvalidArgumentError || error instanceof InvalidSubjectError) return true;
  if (error instanceof JetStreamApiError) {
    if (FOREVER_REFUSED.has(error.code)) return true;
    return REFUSED_UNTIL_ROOM.has(error.code) && (await largerThanStream().catch(() => false));
  }
  if (error instanceof NoRespondersError) return (await captured(subject).catch(() => undefined))?.kind === 'none';
  return false;
}

/**
 * Why a publish JetStream did not acknowledge (no answer in time, or an
 * answer that is not JetStream's) can never succeed; undefined when it may.
 * When no stream captures its subject, what got it is a plain subscriber,
 * which would get it again on every retry while it held back its key for good.
 * When a stream captures it with `no_ack`, no retry is ever answered either.
 * Otherwise it is JetStream slow or away: retried, as when it cannot be asked.
 */
export async function unacknowledgedForGood(error: unknown, subject: string, captured: SubjectCaptured): Promise<{ reason: unknown } | undefined> {
  if (!(error instanceof TimeoutError || error instanceof JetStreamError)) return undefined;
  const capture = await captured(subject).catch(() => undefined);
  if (capture?.kind === 'none') return { reason: error };
  if (capture?.kind === 'unacknowledging') return { reason: new UnacknowledgingStreamError(capture.stream, subject) };
  return undefined;
}
