/** A consume option that can never work, refused before the message is touched. */
export class ConsumeOptionsError extends Error {
  readonly code = 'INVALID_CONSUME_OPTIONS';
  constructor(message: string) {
    super(message);
    this.name = 'ConsumeOptionsError';
  }
}
