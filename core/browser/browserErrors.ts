/** A browser request the browser cannot answer as asked: a bad cursor, version, limit or id. Answered 400. */
export class BrowserInputError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'BrowserInputError';
  }
}

/** Nothing has that id. Answered 404. */
export class BrowserNotFoundError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'BrowserNotFoundError';
  }
}
