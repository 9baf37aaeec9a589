/** A retention or its batching that no cleanup could run with, refused before anything is deleted. */
export class RetentionOptionsError extends Error {
  readonly code = 'INVALID_RETENTION_OPTIONS';

  constructor(message: string) {
    super(message);
    this.name = 'RetentionOptionsError';
  }
}
