import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { findUnstorableText } from '../../core/text';
import { errorResponse } from './errorResponse';
import { HttpInputError } from './httpResponse';

/**
 * Refuses a request holding text PostgreSQL cannot store (a NUL character, or
 * a UTF-16 surrogate outside a pair) in its path parameters, query, headers or
 * parsed JSON body, naming each place (`path.id`, `headers.idempotency-key`,
 * `body.accountId`). Refused here, it is the caller's 400 rather than the
 * database's error surfacing as our 500.
 */
export function assertStorableRequestText(event: APIGatewayProxyEventV2, body?: unknown): void {
  const issues = findUnstorableText({
    path: event.pathParameters ?? {},
    query: event.queryStringParameters ?? {},
    headers: event.headers,
  });
  // Walked on its own, so that its nesting is counted from the body, as the bus counts a payload's.
  if (body !== undefined) issues.push(...findUnstorableText(body, 'body'));
  if (issues.length === 0) return;
  const places = issues.map((issue) => issue.path).join(', ');
  throw new HttpInputError(400, 'INVALID_TEXT', `Text that cannot be stored in ${places}`, { issues });
}

/** For handlers that answer instead of throwing: that 400, or undefined when the request's text can be stored. */
export function unstorableTextResponse(event: APIGatewayProxyEventV2): APIGatewayProxyStructuredResultV2 | undefined {
  try {
    assertStorableRequestText(event);
    return undefined;
  } catch (error) {
    return errorResponse(error);
  }
}
