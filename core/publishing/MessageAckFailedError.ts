import { thrownMessage } from '../errors';
import type { MessageOutcome } from './idempotentConsumer';

/**
 * The handler's effect and the processed record are committed, but JetStream
 * did not confirm the acknowledgement (the connection closed, or it did not
 * answer in time). Nothing is lost or done twice: the message is delivered
 * again after the consumer's ack wait, and then acknowledged as a duplicate.
 */
export class MessageAckFailedError extends Error {
  readonly code = 'ACK_FAILED';

  constructor(
    readonly subject: string,
    readonly messageId: string,
    readonly outcome: MessageOutcome,
    override readonly cause: unknown,
  ) {
    super(`The message ${messageId} on ${subject} was ${outcome === 'processed' ? 'processed' : 'a duplicate'}, committed, but its acknowledgement failed: ${thrownMessage(cause)}. It comes back after the ack wait, and is then acknowledged as a duplicate`);
    this.name = 'MessageAckFailedError';
  }
}
