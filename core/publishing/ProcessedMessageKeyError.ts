/** A consumer name or message id that `processed_messages` cannot hold, refused before any effect runs. */
export class ProcessedMessageKeyError extends Error {
  readonly code = 'INVALID_PROCESSED_MESSAGE_KEY';
  constructor(readonly reason: string) {
    super(`The processed message cannot be recorded: ${reason}`);
    this.name = 'ProcessedMessageKeyError';
  }
}
