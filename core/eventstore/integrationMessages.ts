import { newTimeOrderedId } from '../ids/timeOrderedId';
import * as z from '../schema';
import { findUnstorableText } from '../text/storableText';
import { isPlainObject } from './appendShape';
import type { ValidationIssue } from './errors';
import { BASE_HEADER_BLOCK_BYTES, headerLinesBytes, MAX_HEADER_BLOCK_BYTES } from './headerBlock';
import { carriedAsHeader } from './headerText';
import { subjectProblem } from './natsSubject';
import type { IntegrationMessage } from './types';
import { toJsonObject } from './jsonText';

// Header names as NATS carries them: printable ASCII without spaces or colons.
const HEADER_NAME = /^[!-9;-~]+$/;
const MAX_HEADER_NAME_LENGTH = 256;
const HEADER_VALUE = /^[ -~]*$/;
// JetStream acts on its own Nats-* headers (rollups, TTLs, counters, schedules, the
// message id), and refuses some of them on every try where the stream does not allow
// them. A message may carry only the expectations (Nats-Expected-*): one that does
// not hold is parked. The message id is `messageId`.
const RESERVED_HEADER = /^nats-(?!expected-)/i;


/** Header problems as JetStream would meet them, each on the path of its message's header. */
function headerProblems(headers: Readonly<Record<string, string>>, path: string): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  for (const name of Object.keys(headers)) {
    const at = `${path}.headers.${name}`;
    if (name.length > MAX_HEADER_NAME_LENGTH) problems.push({ path: at, message: `header names must be at most ${MAX_HEADER_NAME_LENGTH} characters` });
    else if (!HEADER_NAME.test(name)) problems.push({ path: at, message: 'header names must be printable ASCII without spaces or ":"' });
    else if (RESERVED_HEADER.test(name)) {
      problems.push({ path: at, message: 'is reserved: of the Nats-* headers only the Nats-Expected-* expectations may be set (the message id is messageId)' });
    }
  }
  const bytes = BASE_HEADER_BLOCK_BYTES + headerLinesBytes(headers);
  if (bytes > MAX_HEADER_BLOCK_BYTES) {
    problems.push({
      path: `${path}.headers`,
      message: `come to ${bytes} bytes as NATS sends them, with the Nats-Msg-Id and traceparent the publisher adds: JetStream stores at most ${MAX_HEADER_BLOCK_BYTES}`,
    });
  }
  return problems;
}

const MessageShape = z.object({
  subject: z.string({ error: 'subject must be a string' }),
  body: z.custom<object>(isPlainObject, 'body must be a plain JSON object'),
  orderingKey: z.string().check(z.minLength(1, 'ordering key must not be empty'), z.maxLength(200, 'ordering key must be at most 200 characters')),
  headers: z.optional(
    // Names are checked by headerProblems: a record reports a bad key only as "Invalid key in record".
    z.record(
      z.string(),
      z.string().check(
        z.maxLength(4096),
        z.regex(HEADER_VALUE, 'header values must be printable ASCII'),
        // NATS trims a header value when it is set and when it is read: the value sent must be the value appended.
        z.refine(carriedAsHeader, 'header values must not have a space at either end: NATS trims them'),
      ),
    ),
  ),
  messageId: z.optional(z.uuid('message id must be a UUID')),
});

/**
 * Checks the integration messages of an append and returns them as the JSON
 * array the append statement inserts, or null when there are none. Problems
 * are added to `issues`, so the whole append is refused at once. Events and
 * messages share JetStream's message ids: `eventIndexes` maps the append's
 * event ids (lower case) to their events' places.
 */
export function serializeMessages(
  messages: readonly IntegrationMessage[],
  maxBytes: number,
  issues: ValidationIssue[],
  eventIndexes: ReadonlyMap<string, number>,
): string | null {
  if (messages.length === 0) return null;
  const members: string[] = [];
  const firstWithId = new Map<string, number>();
  // entries(), not forEach(): forEach skips an array's holes, which are no messages.
  for (const [index, message] of messages.entries()) {
    const path = `messages.${index}`;
    const shape = MessageShape.safeParse(message);
    if (!shape.success) {
      for (const issue of shape.error.issues) issues.push({ path: [path, ...issue.path.map(String)].join('.'), message: issue.message });
      continue;
    }
    if (message.messageId !== undefined) {
      // A UUID's case is not part of it: the database stores it, and the publisher sends it, in lower case.
      const id = message.messageId.toLowerCase();
      const first = firstWithId.get(id);
      const event = eventIndexes.get(id);
      if (first !== undefined) issues.push({ path: `${path}.messageId`, message: `is the same as messages.${first}'s: JetStream would keep only one` });
      else if (event !== undefined) issues.push({ path: `${path}.messageId`, message: `is the same as events.${event}'s event id: JetStream would keep only one of the two` });
      else firstWithId.set(id, index);
    }
    issues.push(...headerProblems(message.headers ?? {}, path));
    issues.push(...findUnstorableText({ subject: message.subject, orderingKey: message.orderingKey, headers: message.headers ?? {} }, path));
    const problem = subjectProblem(message.subject);
    if (problem) issues.push({ path: `${path}.subject`, message: problem });
    const body = toJsonObject(message.body, `${path}.body`, issues);
    if (body === undefined) continue;
    if (Buffer.byteLength(body) > maxBytes) issues.push({ path: `${path}.body`, message: `is over the limit of ${maxBytes} bytes` });
    members.push(
      JSON.stringify({ messageId: message.messageId ?? newTimeOrderedId(), orderingKey: message.orderingKey, subject: message.subject, headers: message.headers ?? {} }).slice(0, -1) +
        `,"body":${body}}`,
    );
  }
  return `[${members.join(',')}]`;
}
