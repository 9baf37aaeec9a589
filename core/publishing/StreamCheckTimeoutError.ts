import { TimeoutError } from '@nats-io/transport-node';

/**
 * The stream's check (its info, and an update where it must capture more) was
 * not answered in time. Still a TimeoutError, retried as any unanswered
 * publish is; its words tell an operator it was the check, not a publish: on
 * a link whose round trip is over half the publish timeout, the check's two
 * requests cannot both be answered, and nothing would go out.
 */
export class StreamCheckTimeoutError extends TimeoutError {
  constructor(stream: string, ms: number) {
    super();
    this.message = `the check of stream ${stream} was not answered within ${ms} ms (publishTimeoutMs): it takes a round trip or two to NATS, so a link slower than that publishes nothing until the timeout is raised`;
  }
}
