import { JetStreamApiError } from '@nats-io/jetstream';
import { InvalidArgumentError, InvalidSubjectError } from '@nats-io/transport-node';

/**
 * Whether NATS refused this message itself (too large, a bad subject, a stream
 * limit), which retrying will not cure, as opposed to NATS being unreachable or
 * slow (timeouts, lost connections, no responders), which says nothing about the
 * message. Only refusals count toward parking a message.
 */
export function isRefusal(error: unknown): boolean {
  return (
    error instanceof InvalidArgumentError ||
    error instanceof InvalidSubjectError ||
    error instanceof JetStreamApiError
  );
}
