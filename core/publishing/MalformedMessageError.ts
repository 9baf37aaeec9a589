import { thrownMessage } from '../errors';

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
