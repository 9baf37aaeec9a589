/** What a query route is given: its path parameters (decoded) and its query string. */
export interface QueryRequest {
  pathParameters: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
}

/** A query's answer: a body to send with 200, or "not found" in the HTTP API's error shape. */
export type QueryAnswer =
  | { kind: 'found'; body: unknown }
  | { kind: 'not_found'; code: string; message: string; details?: Record<string, unknown> };

/** Bad input to a query (a malformed cursor, a limit out of range): answered 400 with these issues. */
export class QueryInputError extends Error {
  readonly code: string;
  constructor(
    code: string,
    message: string,
    readonly issues: readonly { path: string; message: string }[] = [],
  ) {
    super(message);
    this.code = code;
    this.name = 'QueryInputError';
  }
}

/**
 * A read route of the service: `GET /accounts/{id}`, say. Routes with path
 * variables name them as whole segments, as API Gateway does. `Context` is
 * what the service builds once per process for its reads (see defineService).
 */
export interface QueryRoute<Context> {
  path: `/${string}`;
  handle(request: QueryRequest, context: Context): Promise<QueryAnswer>;
}

export const found = (body: unknown): QueryAnswer => ({ kind: 'found', body });

export const notFound = (code: string, message: string, details: Record<string, unknown> = {}): QueryAnswer => ({
  kind: 'not_found',
  code,
  message,
  details,
});
