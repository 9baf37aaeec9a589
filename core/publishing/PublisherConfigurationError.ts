/** A publisher setting that can never work: refused when the publisher is built, or, for the stream it finds, when it runs. */
export class PublisherConfigurationError extends Error {
  readonly code = 'PUBLISHER_CONFIGURATION';
  constructor(message: string) {
    super(message);
    this.name = 'PublisherConfigurationError';
  }
}
