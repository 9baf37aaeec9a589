import type { JsMsg } from '@nats-io/jetstream';

/**
 * Whether a delivered message is a stored event's, as the publisher sends it:
 * its `Event-Id` header names the message's own id (`Nats-Msg-Id`). An
 * integration message has an id of its own and no event; a consumer whose
 * subjects take both kinds hands each to its own helper by this.
 */
export function isEventMessage(message: JsMsg): boolean {
  const eventId = message.headers?.get('Event-Id');
  return eventId !== undefined && eventId !== '' && eventId === message.headers?.get('Nats-Msg-Id');
}
