/**
 * A message handed to `handleEventMessage` that is not a stored event's: it
 * carries an id of its own (an integration message, say) and no event. It
 * was terminated for this consumer, which takes events only: dispatch by
 * `isEventMessage` to handle both kinds, or filter the consumer to event
 * subjects.
 */
export class NotAnEventMessageError extends Error {
  readonly code = 'NOT_AN_EVENT_MESSAGE';

  constructor(
    readonly subject: string,
    readonly messageId: string,
  ) {
    super(`The message ${messageId} on ${subject} is not a stored event's (it has no Event-Id header naming its id), and was terminated for this consumer: hand it to handleIntegrationMessage (see isEventMessage), or filter the consumer to event subjects`);
    this.name = 'NotAnEventMessageError';
  }
}
