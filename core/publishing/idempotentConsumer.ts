import type { JsMsg } from '@nats-io/jetstream';
import * as z from '../schema';
import { refusedInFailedTransaction, type Db, type Queryable } from '../db';
import { HEADER_METADATA, isPlainObject, isStorableHeaderId } from '../eventstore';
import { continueItem, formatTraceparent, parseTraceparent, type TracedItem } from '../observability';
import { hasLoneSurrogate } from '../text/storableText';
import { thrownMessage } from '../errors/thrownText';
import { isThenable } from '../promises';
import { checkedIdleTimeout, checkedRetryDelay, checkFunction, checkPool, type ConsumeOptions } from './consumeOptions';
import { ConsumeOptionsError } from './ConsumeOptionsError';
import { EffectWentOnPastFailureError } from './EffectWentOnPastFailureError';
import { headerNamed } from './headerNamed';
import { isEventMessage } from './isEventMessage';
import { MessageAckFailedError } from './MessageAckFailedError';
import { NotAnEventMessageError } from './NotAnEventMessageError';
import { NotAnIntegrationMessageError } from './NotAnIntegrationMessageError';

// Checked, not rebuilt: z.record would copy the object and drop an own "__proto__"
// key, which the store keeps, so the handler would see other data than was stored.
const JsonObject = z.custom<Record<string, unknown>>(isPlainObject, 'must be a JSON object');

/** The body of every stored event's message: the event's envelope. */
export const EventEnvelope = z.object({
  eventId: z.uuid(),
  type: z.string(),
  schemaVersion: z.int(),
  streamId: z.string(),
  streamType: z.string(),
  version: z.int(),
  globalPosition: z.string(),
  recordedAt: z.string(),
  data: JsonObject,
  metadata: JsonObject,
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** A message that can never be handled: it was terminated (JetStream will not deliver it again). */
export class MalformedMessageError extends Error {
  readonly code = 'MALFORMED_MESSAGE';
  constructor(
    readonly subject: string,
    override readonly cause: unknown,
  ) {
    super(`The message on ${subject} cannot be read: ${thrownMessage(cause)}`);
    this.name = 'MalformedMessageError';
  }
}

// Deliveries of one message wait for each other on a transaction-scoped advisory lock,
// which gives the transaction no id: the effect may then append to the event store,
// whose append must be its transaction's first write. The record is written last.
const LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0)) IS NULL AS locked";
const SEEN_SQL = 'SELECT EXISTS (SELECT FROM processed_messages WHERE consumer = $1 AND message_id = $2) AS seen';
// Aged from its commit, near enough (the record is the transaction's last statement), not from
// the transaction's start: a slow effect's record would otherwise be older than its message's processing.
const RECORD_SQL = 'INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES ($1, $2, clock_timestamp())';

/**
 * A consumer name or message id `processed_messages` can hold (1 to 200
 * characters, migration 0006, none of them NUL or a lone surrogate). With any
 * other, the record could never be written: every delivery would run its
 * effect and then roll it back.
 */
const processedKey = (what: string) =>
  z.string(`the ${what} must be a string`).check(
    z.minLength(1, `the ${what} is empty`),
    z.maxLength(200, `the ${what} is longer than the 200 characters processed_messages holds`),
    z.refine((key) => !key.includes('\u0000'), `the ${what} holds a NUL character, which PostgreSQL text cannot hold`),
    // Sent on, it would be stored as U+FFFD: two ids differing in one would be taken for one message.
    z.refine((key) => !hasLoneSurrogate(key), `the ${what} holds a lone UTF-16 surrogate, which PostgreSQL text cannot hold`),
  );
const ProcessedMessageId = processedKey('message id');
const ConsumerName = processedKey('consumer name');

/** A consumer name or message id that `processed_messages` cannot hold, refused before any effect runs. */
export class ProcessedMessageKeyError extends Error {
  readonly code = 'INVALID_PROCESSED_MESSAGE_KEY';
  constructor(readonly reason: string) {
    super(`The processed message cannot be recorded: ${reason}`);
    this.name = 'ProcessedMessageKeyError';
  }
}

function checkedKey(schema: typeof ConsumerName, key: unknown): string {
  const parsed = schema.safeParse(key);
  if (!parsed.success) throw new ProcessedMessageKeyError(parsed.error.issues.map((issue) => issue.message).join('; '));
  return parsed.data;
}

/**
 * Runs `effect` unless this consumer already processed `messageId`, recording the
 * id in the same transaction as the effect: both commit, or neither does. Two
 * deliveries racing each other wait on a lock of the message's, so one of them
 * runs the effect and the other sees its record. The transaction is ended by the
 * server once idle for `idleTimeoutMs` (default 60 s; ConsumeOptions). An
 * effect that went on past a failed statement is refused with
 * EffectWentOnPastFailureError; `db` must be the pool, as the transaction is
 * processOnce's own (ConsumeOptionsError otherwise, before any statement).
 */
export async function processOnce(
  db: Db,
  consumer: string,
  messageId: string,
  effect: (tx: Queryable) => Promise<void>,
  options: Pick<ConsumeOptions, 'idleTimeoutMs'> = {},
): Promise<{ processed: boolean }> {
  const key = [checkedKey(ConsumerName, consumer), checkedKey(ProcessedMessageId, messageId)];
  checkPool(db);
  checkFunction('effect', effect);
  const idleTimeoutMs = checkedIdleTimeout(options);
  return db.transaction(async (tx) => {
    await tx.query(LOCK_SQL, key, { name: 'processed_message_lock' });
    const { rows } = await tx.query<{ seen: boolean }>(SEEN_SQL, key, { name: 'processed_message_seen' });
    if (rows[0]?.seen) return { processed: false };
    try {
      await effect(tx);
      await tx.query(RECORD_SQL, key, { name: 'processed_message_insert' });
    } catch (error) {
      throw refusedInFailedTransaction(error) ? new EffectWentOnPastFailureError(consumer, messageId, error) : error;
    }
    return { processed: true };
  }, { idleTimeoutMs });
}

export type MessageOutcome = 'processed' | 'duplicate';

/**
 * What the message's headers say of the work that sent it: its ids and trace,
 * restored around the handler, their names matched in any case. A traceparent that is not one is left out (with
 * its tracestate), so what the handler writes never carries it. One of a newer
 * version is carried as version 00, as an edge takes one: its tail, which may
 * hold text the store refuses, would fail every append of the handler, on
 * every delivery.
 */
function itemOf(message: JsMsg, id: string): TracedItem {
  const header = (wanted: string) => {
    const name = message.headers && headerNamed(message.headers.keys(), wanted);
    return (name && message.headers?.get(name)) || undefined;
  };
  const parent = parseTraceparent(header(HEADER_METADATA.traceparent));
  const traced = parent !== null;
  const correlationId = header(HEADER_METADATA.correlationId);
  return {
    id,
    // What the handler appends carries it: one the store would refuse gives way to the message's id.
    correlationId: correlationId !== undefined && isStorableHeaderId(correlationId) ? correlationId : undefined,
    commandId: header(HEADER_METADATA.commandId),
    traceparent: traced ? formatTraceparent(parent) : undefined,
    tracestate: traced ? header(HEADER_METADATA.tracestate) : undefined,
  };
}

/**
 * What `read` makes of the message; one it cannot read is terminated (see
 * handleMessageOnce). A read that answers later (an async function) is the
 * consumer's mistake, not the message's: taken as an unreadable message,
 * every message would be terminated, each lost for good. It is refused, and
 * the message left to come back.
 */
function readOrTerminate<Body>(message: JsMsg, read: (message: JsMsg) => { id: string; body: Body }): { id: string; body: Body } {
  let given: unknown;
  let answersLater: boolean;
  try {
    given = read(message);
    // Looked at inside: a `then` getter of the answer's may throw too.
    answersLater = isThenable(given);
  } catch (error) {
    return terminated(message, error);
  }
  if (answersLater) {
    // Its rejection is nobody's to handle: unheard, it would end the process. A thenable
    // whose `then` throws says no more than that it is one.
    try {
      (given as PromiseLike<unknown>).then(undefined, () => undefined);
    } catch {
      // The refusal below says what is wrong.
    }
    throw new ConsumeOptionsError('read must return { id, body } when called, not a promise: the message is left to come back');
  }
  const answer = given as { id: string; body: Body };
  try {
    return { id: ProcessedMessageId.parse(answer.id), body: answer.body };
  } catch (error) {
    return terminated(message, error);
  }
}

function terminated(message: JsMsg, error: unknown): never {
  message.term();
  // Not garbage: a message of another kind, which this consumer declared it does not take.
  if (error instanceof NotAnEventMessageError || error instanceof NotAnIntegrationMessageError) throw error;
  throw new MalformedMessageError(message.subject, error);
}

/**
 * Handles one JetStream message exactly once in effect, keyed by its message id
 * (`Nats-Msg-Id`: the event id for stored events): the handler's writes and the
 * processed record commit together, and the message is acknowledged only after
 * that commit. A failed handler writes nothing and the message is redelivered
 * after `retryDelayMs`; a redelivered, already processed message is acknowledged
 * without running the handler again. `read` turns the message into what the
 * handler takes; a message it cannot read, or whose id is empty, longer than
 * 200 characters or holds a NUL character, is terminated, never redelivered,
 * and reported with MalformedMessageError; one `read` refuses as of another
 * kind (NotAnEventMessageError, NotAnIntegrationMessageError) is terminated too, and that error rethrown. A consumer name processed_messages
 * cannot hold is refused with ProcessedMessageKeyError, and a `retryDelayMs`
 * that is not a whole number of milliseconds from 0, options that are no object,
 * an `idleTimeoutMs` that is not one from 1 (see ConsumeOptions),
 * a `db` that is no pool (a transaction), or a `read` or `handler` that is no function, or a `read` that answers with a promise, with ConsumeOptionsError,
 * before the message is touched. The handler may append to the event store in its transaction:
 * nothing is written before it.
 */
export async function handleMessageOnce<Body>(
  db: Db,
  consumer: string,
  message: JsMsg,
  read: (message: JsMsg) => { id: string; body: Body },
  handler: (tx: Queryable, body: Body) => Promise<void>,
  options: ConsumeOptions = {},
): Promise<MessageOutcome> {
  checkedKey(ConsumerName, consumer);
  checkPool(db);
  const retryDelayMs = checkedRetryDelay(options);
  const idleTimeoutMs = checkedIdleTimeout(options);
  checkFunction('read', read);
  checkFunction('handler', handler);
  const readMessage = readOrTerminate(message, read);
  let outcome: MessageOutcome;
  try {
    const { processed } = await continueItem(itemOf(message, readMessage.id), `process ${message.subject}`, () =>
      processOnce(db, consumer, readMessage.id, (tx) => handler(tx, readMessage.body), { idleTimeoutMs }),
    );
    outcome = processed ? 'processed' : 'duplicate';
  } catch (error) {
    message.nak(retryDelayMs);
    throw error;
  }
  try {
    await message.ackAck();
  } catch (error) {
    throw new MessageAckFailedError(message.subject, readMessage.id, outcome, error);
  }
  return outcome;
}

/**
 * handleMessageOnce for a stored event's message: the handler gets its checked
 * envelope. A message with an id of its own that is not an event's (an
 * integration message on the same stream) is terminated for this consumer and
 * refused with NotAnEventMessageError: nak'd instead, every such message
 * would come back for ever and hold one of the consumer's unacknowledged
 * slots, until none were left for events.
 */
export function handleEventMessage(
  db: Db,
  consumer: string,
  message: JsMsg,
  handler: (tx: Queryable, envelope: EventEnvelope) => Promise<void>,
  options: ConsumeOptions = {},
): Promise<MessageOutcome> {
  const read = (received: JsMsg) => {
    const messageId = received.headers?.get('Nats-Msg-Id');
    if (messageId && !isEventMessage(received)) throw new NotAnEventMessageError(received.subject, messageId);
    const envelope = EventEnvelope.parse(received.json());
    return { id: envelope.eventId, body: envelope };
  };
  return handleMessageOnce(db, consumer, message, read, handler, options);
}

/**
 * handleMessageOnce for an integration message: keyed by its message id
 * header, the handler gets its JSON body. A stored event's message (an event
 * on the same stream) is terminated for this consumer and refused with
 * NotAnIntegrationMessageError, as handleEventMessage refuses the other kind.
 */
export function handleIntegrationMessage(
  db: Db,
  consumer: string,
  message: JsMsg,
  handler: (tx: Queryable, body: unknown) => Promise<void>,
  options: ConsumeOptions = {},
): Promise<MessageOutcome> {
  const read = (received: JsMsg) => {
    const id = received.headers?.get('Nats-Msg-Id') ?? '';
    if (!id) throw new Error('the message has no Nats-Msg-Id header');
    if (isEventMessage(received)) throw new NotAnIntegrationMessageError(received.subject, id);
    return { id, body: received.json<unknown>() };
  };
  return handleMessageOnce(db, consumer, message, read, handler, options);
}
