import { newTimeOrderedId } from '../ids/timeOrderedId';
import * as z from '../schema';
import { findUnstorableText } from '../text/storableText';
import { isPlainObject } from './appendShape';
import type { ValidationIssue } from './errors';
import { subjectProblem } from './natsSubject';
import type { IntegrationMessage } from './types';
import { toJsonObject } from './jsonText';

// Header names as NATS carries them: printable ASCII without spaces or colons.
const HEADER_NAME = /^[!-9;-~]+$/;
const HEADER_VALUE = /^[ -~]*$/;
// JetStream acts on its own Nats-* headers (rollups, TTLs, counters, schedules, the
// message id), and refuses some of them on every try where the stream does not allow
// them. A message may carry only the expectations (Nats-Expected-*): one that does
// not hold is parked. The message id is `messageId`.
const RESERVED_HEADER = /^nats-(?!expected-)/i;

const MessageShape = z.object({
  subject: z.string({ error: 'subject must be a string' }),
  body: z.custom<object>(isPlainObject, 'body must be a plain JSON object'),
  orderingKey: z.string().check(z.minLength(1, 'ordering key must not be empty'), z.maxLength(200, 'ordering key must be at most 200 characters')),
  headers: z.optional(
    z.record(
      z.string().check(z.regex(HEADER_NAME, 'header names must be printable ASCII without spaces or ":"')),
      z.string().check(z.maxLength(4096), z.regex(HEADER_VALUE, 'header values must be printable ASCII')),
    ),
  ),
  messageId: z.optional(z.uuid('message id must be a UUID')),
});

/**
 * Checks the integration messages of an append and returns them as the JSON
 * array the append statement inserts, or null when there are none. Problems
 * are added to `issues`, so the whole append is refused at once.
 */
export function serializeMessages(
  messages: readonly IntegrationMessage[],
  maxBytes: number,
  issues: ValidationIssue[],
): string | null {
  if (messages.length === 0) return null;
  const members: string[] = [];
  messages.forEach((message, index) => {
    const path = `messages.${index}`;
    const shape = MessageShape.safeParse(message);
    if (!shape.success) {
      for (const issue of shape.error.issues) issues.push({ path: [path, ...issue.path.map(String)].join('.'), message: issue.message });
      return;
    }
    for (const name of Object.keys(message.headers ?? {})) {
      if (RESERVED_HEADER.test(name)) {
        issues.push({ path: `${path}.headers.${name}`, message: 'is reserved: of the Nats-* headers only the Nats-Expected-* expectations may be set (the message id is messageId)' });
      }
    }
    issues.push(...findUnstorableText({ subject: message.subject, orderingKey: message.orderingKey, headers: message.headers ?? {} }, path));
    const problem = subjectProblem(message.subject);
    if (problem) issues.push({ path: `${path}.subject`, message: problem });
    const body = toJsonObject(message.body, `${path}.body`, issues);
    if (body === undefined) return;
    if (Buffer.byteLength(body) > maxBytes) issues.push({ path: `${path}.body`, message: `is over the limit of ${maxBytes} bytes` });
    members.push(
      JSON.stringify({ messageId: message.messageId ?? newTimeOrderedId(), orderingKey: message.orderingKey, subject: message.subject, headers: message.headers ?? {} }).slice(0, -1) +
        `,"body":${body}}`,
    );
  });
  return `[${members.join(',')}]`;
}
