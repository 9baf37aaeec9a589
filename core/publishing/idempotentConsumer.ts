import type { JsMsg } from '@nats-io/jetstream';
import type { Db, Queryable } from '../db';
import { HEADER_METADATA, isStorableHeaderId } from '../eventstore';
import { continueItem, formatTraceparent, parseTraceparent, type TracedItem } from '../observability';
import { checkedIdleTimeout, checkedRetryDelay, checkFunction, checkPool, type ConsumeOptions } from './consumeOptions';
import { EventEnvelope } from './eventEnvelope';
import { headerNamed } from './headerNamed';
import { isEventMessage } from './isEventMessage';
import { MessageAckFailedError } from './MessageAckFailedError';
import { NotAnEventMessageError } from './NotAnEventMessageError';
import { NotAnIntegrationMessageError } from './NotAnIntegrationMessageError';
import { checkedKey, ConsumerName } from './processedMessageKeys';
import { processOnce } from './processOnce';
import { readOrTerminate } from './readOrTerminate';

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
