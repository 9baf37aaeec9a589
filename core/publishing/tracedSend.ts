import { parseTraceparent, startMessageSpan, type MessageSpan } from '../observability';
import { headerNamed } from './headerNamed';
import type { PublishMessage } from './PublishMessage';

/**
 * The message as sent: in its own send span, whose traceparent it carries to
 * the consumer, under the name the message gave its own (in any case), so
 * that it goes with one traceparent, not two. A message that came with more
 * than one spelling keeps only that one: a consumer reading another spelling
 * would otherwise follow a trace the send span does not continue.
 */
export function tracedSend(message: PublishMessage): { message: PublishMessage; span: MessageSpan } {
  const given = traceHeaderOf(message.headers);
  const span = startMessageSpan({ subject: message.subject, messageId: message.messageId, traceparent: given === undefined ? undefined : message.headers[given] }, 'nats');
  if (!span.traceparent) return { message, span };
  return { message: { ...message, headers: withOneTraceparent(message.headers, given ?? 'traceparent', span.traceparent) }, span };
}

/**
 * The name of the trace header to continue. Of two spellings, the exact
 * `traceparent` unless only another holds a trace context: continuing one
 * that does not parse would start a new trace and drop the sender's.
 */
function traceHeaderOf(headers: Readonly<Record<string, string>>): string | undefined {
  const names = Object.keys(headers).filter((name) => name.toLowerCase() === 'traceparent');
  if (names.length < 2) return names[0];
  const parsing = names.filter((name) => parseTraceparent(headers[name]) !== null);
  return headerNamed(parsing, 'traceparent') ?? headerNamed(names, 'traceparent');
}

function withOneTraceparent(headers: Readonly<Record<string, string>>, name: string, traceparent: string): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== 'traceparent') kept[key] = value;
  }
  kept[name] = traceparent;
  return kept;
}
