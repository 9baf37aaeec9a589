/**
 * A message handed to `handleIntegrationMessage` that is a stored event's (its
 * `Event-Id` header names its own id): the handler would get the event's
 * envelope as a body it does not expect. It was terminated for this consumer,
 * which takes integration messages only: dispatch by `isEventMessage` to
 * handle both kinds, or filter the consumer to the integration subjects.
 */
export class NotAnIntegrationMessageError extends Error {
  readonly code = 'NOT_AN_INTEGRATION_MESSAGE';

  constructor(
    readonly subject: string,
    readonly messageId: string,
  ) {
    super(`The message ${messageId} on ${subject} is a stored event's (its Event-Id header names its id), and was terminated for this consumer: hand it to handleEventMessage (see isEventMessage), or filter the consumer to integration subjects`);
    this.name = 'NotAnIntegrationMessageError';
  }
}
