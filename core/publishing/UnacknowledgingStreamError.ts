/**
 * Why a message was parked whose subject another stream captures with
 * `no_ack`: JetStream stores what is sent there and answers nothing, so the
 * publisher can never know the message went out. Retried, it held back its key
 * for good and was stored again each duplicate window.
 */
export class UnacknowledgingStreamError extends Error {
  readonly code = 'UNACKNOWLEDGING_STREAM';

  constructor(
    readonly stream: string,
    readonly subject: string,
  ) {
    super(
      `the stream ${stream} captures ${subject} with no_ack: JetStream may have stored the message, but never acknowledges it; ` +
        'give the stream acknowledgements (or move the subject from it to the publisher’s stream), then requeue the message',
    );
    this.name = 'UnacknowledgingStreamError';
  }
}
