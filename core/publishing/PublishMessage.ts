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
