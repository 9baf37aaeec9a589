/**
 * A message handed to `handleEventMessage` that is not a stored event's: it
 * carries an id of its own (an integration message, say) and no event. It was
 * nak'd, not terminated: it comes back, for a handler that takes its kind.
 */
export class NotAnEventMessageError extends Error {
  readonly code = 'NOT_AN_EVENT_MESSAGE';

  constructor(
    readonly subject: string,
    readonly messageId: string,
  ) {
    super(`The message ${messageId} on ${subject} is not a stored event's (it has no Event-Id header naming its id): give it to handleIntegrationMessage, or filter the consumer to event subjects; it was nak'd and comes back`);
    this.name = 'NotAnEventMessageError';
  }
}
