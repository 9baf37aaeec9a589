import type { JsMsg } from '@nats-io/jetstream';
import { isThenable } from '../promises';
import { ConsumeOptionsError } from './ConsumeOptionsError';
import { MalformedMessageError } from './MalformedMessageError';
import { NotAnEventMessageError } from './NotAnEventMessageError';
import { NotAnIntegrationMessageError } from './NotAnIntegrationMessageError';
import { ProcessedMessageId } from './processedMessageKeys';

/**
 * What `read` makes of the message; one it cannot read is terminated (see
 * handleMessageOnce). A read that answers later (an async function) is the
 * consumer's mistake, not the message's: taken as an unreadable message,
 * every message would be terminated, each lost for good. It is refused, and
 * the message left to come back.
 */
export function readOrTerminate<Body>(message: JsMsg, read: (message: JsMsg) => { id: string; body: Body }): { id: string; body: Body } {
  let given: unknown;
  let answersLater: boolean;
  try {
    given = read(message);
    // Looked at inside: a `then` getter of the answer's may throw too.
    answersLater = isThenable(given);
  } catch (error) {
    return terminated(message, error);
  }
  if (answersLater) {
    // Its rejection is nobody's to handle: unheard, it would end the process. A thenable
    // whose `then` throws says no more than that it is one.
    try {
      (given as PromiseLike<unknown>).then(undefined, () => undefined);
    } catch {
      // The refusal below says what is wrong.
    }
    throw new ConsumeOptionsError('read must return { id, body } when called, not a promise: the message is left to come back');
  }
  const answer = given as { id: string; body: Body };
  try {
    return { id: ProcessedMessageId.parse(answer.id), body: answer.body };
  } catch (error) {
    return terminated(message, error);
  }
}

function terminated(message: JsMsg, error: unknown): never {
  message.term();
  // Not garbage: a message of another kind, which this consumer declared it does not take.
  if (error instanceof NotAnEventMessageError || error instanceof NotAnIntegrationMessageError) throw error;
  throw new MalformedMessageError(message.subject, error);
}
