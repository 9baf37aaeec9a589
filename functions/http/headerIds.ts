import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { HttpInputError } from './httpResponse';

// API Gateway and Node hand header bytes over as latin1, so an id in any other
// encoding (UTF-8 "é" is two bytes) would arrive, and be stored, garbled.
const HEADER_ID = /^[\x20-\x7e]{1,200}$/;
const HEADER_ID_RULE = 'must be 1 to 200 printable ASCII characters';
const ID_HEADERS = ['idempotency-key', 'x-correlation-id', 'x-causation-id'] as const;

/**
 * Refuses a request whose `Idempotency-Key`, `X-Correlation-Id` or
 * `X-Causation-Id` is not 1 to 200 printable ASCII characters, with
 * `INVALID_COMMAND_ID` naming each such header.
 */
export function assertHeaderIds(event: APIGatewayProxyEventV2): void {
  const invalid = ID_HEADERS.filter((name) => {
    const value = event.headers[name];
    return value !== undefined && !HEADER_ID.test(value);
  });
  if (invalid.length === 0) return;
  const issues = invalid.map((name) => ({ path: `headers.${name}`, message: HEADER_ID_RULE }));
  throw new HttpInputError(400, 'INVALID_COMMAND_ID', `${invalid.join(', ')} ${HEADER_ID_RULE}`, { issues });
}

/**
 * The caller's `X-Correlation-Id`, or else the gateway's request id. An
 * invalid one (refused by `assertHeaderIds`) is not echoed back, since it may
 * not even be a legal response header.
 */
export function correlationIdOf(event: APIGatewayProxyEventV2): string {
  const header = event.headers['x-correlation-id'];
  return header !== undefined && HEADER_ID.test(header) ? header : event.requestContext.requestId;
}
