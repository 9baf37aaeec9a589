import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { CommandRequest } from '../../core/commands';
import { assertHeaderIds, correlationIdOf } from './headerIds';
import { HttpInputError } from './httpResponse';
import { assertStorableRequestText } from './requestText';

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

const JSON_CONTENT_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

function bodyOf(event: APIGatewayProxyEventV2, maxBytes: number): string {
  const raw = event.body ?? '';
  const body = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  const bytes = Buffer.byteLength(body);
  if (bytes > maxBytes) throw new HttpInputError(413, 'PAYLOAD_TOO_LARGE', `The body is ${bytes} bytes, over the limit of ${maxBytes}`);
  return body;
}

function parseJsonObject(body: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new HttpInputError(400, 'INVALID_JSON', 'The body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HttpInputError(400, 'INVALID_JSON', 'The body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/**
 * Reads `POST /commands/{type}`: the body is the command's payload, the command
 * id comes from the `Idempotency-Key` header or a `commandId` field, the
 * correlation id from `X-Correlation-Id` (or the gateway's request id), the
 * causation id from `X-Causation-Id` (a caller reacting to an event names it
 * there) and the trace context from `traceparent`.
 */
export function commandRequestOf(event: APIGatewayProxyEventV2, maxBodyBytes = DEFAULT_MAX_BODY_BYTES): CommandRequest {
  const body = bodyOf(event, maxBodyBytes);
  const contentType = event.headers['content-type'] ?? '';
  if (!JSON_CONTENT_TYPE.test(contentType)) {
    throw new HttpInputError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the command as application/json');
  }
  const parsed = parseJsonObject(body);
  assertStorableRequestText(event, parsed);
  assertHeaderIds(event);
  const { commandId: bodyCommandId, ...payload } = parsed;
  const headerCommandId = event.headers['idempotency-key'];
  if (bodyCommandId !== undefined && typeof bodyCommandId !== 'string') {
    throw new HttpInputError(400, 'INVALID_COMMAND_ID', 'commandId must be a string');
  }
  if (headerCommandId !== undefined && bodyCommandId !== undefined && headerCommandId !== bodyCommandId) {
    throw new HttpInputError(400, 'INVALID_COMMAND_ID', 'The Idempotency-Key header and the commandId field differ');
  }
  return {
    type: event.pathParameters?.command ?? '',
    payload,
    commandId: headerCommandId ?? bodyCommandId,
    correlationId: correlationIdOf(event),
    causationId: event.headers['x-causation-id'],
    traceparent: event.headers.traceparent,
  };
}
