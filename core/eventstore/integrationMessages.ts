import { newTimeOrderedId } from '../ids/timeOrderedId';
import * as z from '../schema';
import { findUnstorableText } from '../text';
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
const MAX_HEADER_VALUE_LENGTH = 4096;
// JetStream acts on its own Nats-* headers (rollups, TTLs, counters, schedules, the
// message id), and refuses some of them on every try where the stream does not allow
// them. A message may carry only the expectations it checks before storing, which
// nats-server reads by their exact names: every other spelling (a lower-cased name, as
// an HTTP server hands headers on) it would ignore, storing a message whose
// expectation does not hold. An empty value it takes for no expectation at all.
const RESERVED_HEADER = /^nats-/i;
const SEQUENCE = /^[0-9]{1,20}$/;
// Of these, nats-server 2.11's Nats-Expected-Last-Subject-Sequence-Subject is not taken: an
// older server ignores it and checks the last sequence of the message's own subject instead.
type ValueCheck = (value: string) => string | undefined;
const named = (what: string): ValueCheck => (value) => (value === '' ? `must be ${what}` : undefined);
const sequence: ValueCheck = (value) => (SEQUENCE.test(value) ? undefined : 'must be a sequence number: digits only');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Event and message ids are stored and sent in lower case (a UUID's case is not part of
// it), and nats-server compares ids as text: an upper-case spelling would never hold.
const lastMessageId: ValueCheck = (value) =>
  UUID.test(value) && value !== value.toLowerCase()
    ? `must name the id in lower case (${value.toLowerCase()}): ids are published in lower case, and JetStream compares them as text`
    : named('a message id')(value);
const EXPECTATIONS = new Map<string, ValueCheck>([
  ['Nats-Expected-Stream', named('the name of the stream')],
  ['Nats-Expected-Last-Msg-Id', lastMessageId],
  ['Nats-Expected-Last-Sequence', sequence],
  ['Nats-Expected-Last-Subject-Sequence', sequence],
]);
const EXPECTATION_NAMES = [...EXPECTATIONS.keys()];
// nats-server finds a header by the first match of its name anywhere in the block:
// the publisher sends the message id and then the expectations first, so only another expectation's value could hide one.
const EXPECTATION_MENTION = 'Nats-Expected-';

function nameProblem(name: string): string | undefined {
  if (name.length > MAX_HEADER_NAME_LENGTH) return `header names must be at most ${MAX_HEADER_NAME_LENGTH} characters`;
  if (!HEADER_NAME.test(name)) return 'header names must be printable ASCII without spaces or ":"';
  // A JSON object's own "__proto__" is dropped by every reader that copies it into a plain object.
  if (name === '__proto__') return 'is not a header name a JavaScript object keeps';
  if (!RESERVED_HEADER.test(name) || EXPECTATIONS.has(name)) return undefined;
  const spelt = EXPECTATION_NAMES.find((expectation) => expectation.toLowerCase() === name.toLowerCase());
  if (spelt) return `must be written ${spelt}: JetStream reads its expectations by their exact names, and would ignore this one`;
  return `is reserved: of the Nats-* headers only the expectations (${EXPECTATION_NAMES.join(', ')}) may be set (the message id is messageId)`;
}

function valueProblem(name: string, value: unknown): string | undefined {
  if (typeof value !== 'string') return 'header values must be strings';
  if (value.length > MAX_HEADER_VALUE_LENGTH) return `header values must be at most ${MAX_HEADER_VALUE_LENGTH} characters`;
  if (!HEADER_VALUE.test(value)) return 'header values must be printable ASCII';
  // NATS trims a header value when it is set and when it is read: the value sent must be the value appended.
  if (!carriedAsHeader(value)) return 'header values must not have a space at either end: NATS trims them';
  const expectation = EXPECTATIONS.get(name);
  if (!expectation) return undefined;
  if (value.includes(EXPECTATION_MENTION)) return `must not mention ${EXPECTATION_MENTION}*: JetStream would take the mention for the expectation`;
  return expectation(value);
}

/** Whether a value can be carried in a message's header as it is (not an expectation's). */
export const isHeaderValue = (value: string): boolean => valueProblem('', value) === undefined;

/** Whether headers fit the block JetStream stores, beside the message id and traceparent the publisher adds. */
export const fitsHeaderBlock = (headers: Readonly<Record<string, string>>): boolean => BASE_HEADER_BLOCK_BYTES + headerLinesBytes(headers) <= MAX_HEADER_BLOCK_BYTES;

/** Header problems as JetStream would meet them, each on the path of its message's header. */
function headerProblems(headers: object, path: string): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const problem = nameProblem(name) ?? valueProblem(name, value);
    if (problem) problems.push({ path: `${path}.headers.${name}`, message: problem });
  }
  if (problems.length > 0) return problems;
  const bytes = BASE_HEADER_BLOCK_BYTES + headerLinesBytes(headers as Record<string, string>);
  if (bytes > MAX_HEADER_BLOCK_BYTES) {
    problems.push({
      path: `${path}.headers`,
      message: `come to ${bytes} bytes as NATS sends them, with the Nats-Msg-Id and traceparent the publisher adds: JetStream stores at most ${MAX_HEADER_BLOCK_BYTES}`,
    });
  }
  return problems;
}

/**
 * What is wrong with a stored integration message's headers by today's rules,
 * or undefined: a row written before a rule was added (a reserved Nats-* name,
 * a value NATS trims) would be sent as something its writer never meant.
 */
export function storedHeadersProblem(headers: Readonly<Record<string, string>>): string | undefined {
  const [first] = headerProblems(headers, '');
  if (!first) return undefined;
  // One header's path ends in its name; the whole block's (too large) ends in "headers".
  const name = first.path.slice('.headers.'.length);
  return name ? `${name} ${first.message}` : `the headers ${first.message}`;
}

// The publisher's mark of a stored event's message: an Event-Id naming the message's own id.
const EVENT_ID_HEADER = 'Event-Id';

/**
 * Why a message with these headers and this id would be taken for a stored
 * event's, or undefined: consumers tell one by an `Event-Id` naming its own
 * message id (isEventMessage), and hand it to the event helper, which
 * terminates what is no event. An Event-Id naming another id (a relayed
 * event's, beside an id of the message's own) is no such mark.
 */
export function eventMarkProblem(headers: Readonly<Record<string, string>>, messageId: string): string | undefined {
  if (headers[EVENT_ID_HEADER] !== messageId.toLowerCase()) return undefined;
  return `${EVENT_ID_HEADER} names the message's own id, as the publisher marks a stored event's message: a consumer would take it for an event's (isEventMessage); give the message an id of its own`;
}

/** Whether a header is one of the expectations JetStream checks before storing (sent first). */
export const isExpectationHeader = (name: string): boolean => name.startsWith(EXPECTATION_MENTION);

const MessageShape = z.object({
  subject: z.string({ error: 'subject must be a string' }),
  body: z.custom<object>(isPlainObject, 'body must be a plain JSON object'),
  orderingKey: z.string().check(z.minLength(1, 'ordering key must not be empty'), z.maxLength(200, 'ordering key must be at most 200 characters')),
  // Checked entry by entry by headerProblems: a record schema skips an own "__proto__" key.
  headers: z.optional(z.custom<Readonly<Record<string, string>>>(isPlainObject, 'headers must be a plain JSON object of strings')),
  messageId: z.optional(z.uuid('message id must be a UUID')),
});

// A key no message has is most often a misspelled one (`header`, `messageID`), whose
// value would be dropped: the message sent without its headers, or under a new id.
// TypeScript misses it where a message is built in a callback (`events.map(...)`).
const MESSAGE_FIELDS = Object.keys(MessageShape.shape);

function unknownFieldProblems(message: object, path: string): ValidationIssue[] {
  return Object.entries(message)
    .filter(([key, value]) => value !== undefined && !MESSAGE_FIELDS.includes(key))
    .map(([key]) => ({ path: `${path}.${key}`, message: `is no field of a message, which has ${MESSAGE_FIELDS.join(', ')}: its value would be dropped` }));
}

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
    issues.push(...unknownFieldProblems(message, path));
    if (message.messageId !== undefined) {
      // A UUID's case is not part of it: the database stores it, and the publisher sends it, in lower case.
      const id = message.messageId.toLowerCase();
      const first = firstWithId.get(id);
      const event = eventIndexes.get(id);
      if (first !== undefined) issues.push({ path: `${path}.messageId`, message: `is the same as messages.${first}'s: JetStream would keep only one` });
      else if (event !== undefined) issues.push({ path: `${path}.messageId`, message: `is the same as events.${event}'s event id: JetStream would keep only one of the two` });
      else firstWithId.set(id, index);
      const taken = eventMarkProblem(message.headers ?? {}, id);
      if (taken) issues.push({ path: `${path}.headers.${EVENT_ID_HEADER}`, message: taken });
    }
    issues.push(...headerProblems(message.headers ?? {}, path));
    issues.push(...findUnstorableText({ subject: message.subject, orderingKey: message.orderingKey, headers: message.headers ?? {} }, path));
    const problem = subjectProblem(message.subject);
    if (problem) issues.push({ path: `${path}.subject`, message: problem });
    const body = toJsonObject(message.body, `${path}.body`, issues);
    if (body === undefined) continue;
    if (Buffer.byteLength(body) > maxBytes) issues.push({ path: `${path}.body`, message: `is over the limit of ${maxBytes} bytes` });
    // Only an id the caller chose is claimed (appendStatement.ts): one the store makes is new.
    const id = message.messageId === undefined ? { messageId: newTimeOrderedId() } : { messageId: message.messageId, chosen: true };
    members.push(
      JSON.stringify({ ...id, orderingKey: message.orderingKey, subject: message.subject, headers: message.headers ?? {} }).slice(0, -1) +
        `,"body":${body}}`,
    );
  }
  return `[${members.join(',')}]`;
}
