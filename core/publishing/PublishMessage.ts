import { headerLineBytes } from '../eventstore';

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

// "NATS/1.0\r\n" and the blank line that ends the header block.
const HEADER_BLOCK_FRAME_BYTES = 12;

/** No more than JetStream counts of a message against a stream's byte limit: its subject, header block and body. */
export function messageBytes(message: PublishMessage): number {
  let bytes = Buffer.byteLength(message.subject) + HEADER_BLOCK_FRAME_BYTES + Buffer.byteLength(message.payload);
  for (const [name, value] of Object.entries(message.headers)) bytes += headerLineBytes(Buffer.byteLength(name), Buffer.byteLength(value));
  return bytes;
}
