/** A browser request answered with an error in the API's usual `{code, message, details}` shape. */
abstract class BrowserRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A browser request the browser cannot answer as asked: a bad cursor, version, limit or id. Answered 400. */
export class BrowserInputError extends BrowserRequestError {}

/** Nothing has that id. Answered 404. */
export class BrowserNotFoundError extends BrowserRequestError {}

/** The action conflicts with what is stored: a rebuild asked of code at another version than the projection's. Answered 409. */
export class BrowserConflictError extends BrowserRequestError {}
