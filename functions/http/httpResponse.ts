import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** The one error body shape of every endpoint. */
export interface ErrorBody {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/** A request refused before it reaches the core: bad framing rather than a bad command. */
export class HttpInputError extends Error {
  constructor(
    readonly statusCode: 400 | 413 | 415,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpInputError';
  }
}
