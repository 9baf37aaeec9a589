import { isPlainObject } from '../eventstore';
import type { PublishMessage } from './PublishMessage';

/**
 * An integration message as the outbox holds it. Its headers were checked by
 * the append that wrote it, by the rules of that day; a row written by hand
 * may hold headers that are not headers at all, and the message is parked then.
 */
export interface StoredMessage extends PublishMessage {
  /** Why the stored headers cannot be sent (not a JSON object of strings); `headers` is empty then. */
  unreadableHeaders?: string;
}

/** An outbox row's message columns, its headers as the driver parsed their JSON. */
export interface StoredMessageRow {
  message_id: string;
  ordering_key: string;
  subject: string;
  payload: string;
  headers: unknown;
}

// Checked, not rebuilt: a rebuilt record would drop an own "__proto__" key, a name the
// append refuses today but an earlier one stored, and the row would go out without it, not parked.
const isHeaderBlock = (value: unknown): value is Record<string, string> =>
  isPlainObject(value) && Object.values(value).every((header) => typeof header === 'string');

const kindOf = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
};

function whyUnreadable(headers: unknown): string {
  if (!isPlainObject(headers)) return `stored headers are not a JSON object: ${kindOf(headers)}`;
  const entries: [string, unknown][] = Object.entries(headers);
  const [name, value] = entries.find(([, header]) => typeof header !== 'string') ?? ['', undefined];
  // Quoted as JSON: a name may hold a NUL (json keeps its escape), which no text column takes.
  return `stored headers must be text: ${JSON.stringify(name)} is ${kindOf(value)}`;
}

/** The message an outbox row holds, with why its headers cannot be sent if they cannot. */
export function storedMessage(row: StoredMessageRow): StoredMessage {
  const message = { messageId: row.message_id, orderingKey: row.ordering_key, subject: row.subject, payload: row.payload };
  return isHeaderBlock(row.headers) ? { ...message, headers: row.headers } : { ...message, headers: {}, unreadableHeaders: whyUnreadable(row.headers) };
}
