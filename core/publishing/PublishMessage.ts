import { EMPTY_HEADER_BLOCK_BYTES, headerLinesBytes, MESSAGE_ID_HEADER_BYTES } from '../eventstore';

/** A message as the publisher sends it to JetStream: a stored event's, or an integration message from the outbox. */
export interface PublishMessage {
  /** JetStream's message id (`Nats-Msg-Id`): the server drops a repeat within its duplicate window. */
  messageId: string;
  /** Messages sharing a key are stored in the order they were written: the stream id for events. */
  orderingKey: string;
  subject: string;
  /** The JSON body, as it is sent. */
  payload: string;
  headers: Readonly<Record<string, string>>;
}

// What JetStream's memory store adds to each message it counts (its file store adds more).
const STORED_MESSAGE_OVERHEAD_BYTES = 16;

/**
 * No more than JetStream counts of a message against a stream's byte limit: its
 * subject, its header block with the message id the client adds, its body,
 * and the least overhead a store adds.
 */
export function messageBytes(message: PublishMessage): number {
  const headerBlock = EMPTY_HEADER_BLOCK_BYTES + MESSAGE_ID_HEADER_BYTES + headerLinesBytes(message.headers);
  return Buffer.byteLength(message.subject) + headerBlock + Buffer.byteLength(message.payload) + STORED_MESSAGE_OVERHEAD_BYTES;
}
