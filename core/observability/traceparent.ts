import { randomHex } from '../ids/randomBytes';

/** A W3C trace context's parent, parsed: version 00, a trace id, a span id, flags. */
export interface TraceParent {
  traceId: string;
  spanId: string;
  flags: number;
}

// Version 00 has exactly this shape; other versions are accepted only as their 00 prefix would be (W3C 3.3.2), and ff is invalid.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO_TRACE = '0'.repeat(32);
const ALL_ZERO_SPAN = '0'.repeat(16);
const MAX_TRACEPARENT_LENGTH = 512;

/** The traceparent header, or null when it is not one (garbage, too long, all-zero ids, version ff). */
export function parseTraceparent(header: string | undefined): TraceParent | null {
  if (header === undefined || header.length > MAX_TRACEPARENT_LENGTH) return null;
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return null;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === undefined || traceId === undefined || spanId === undefined || flags === undefined) return null;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (traceId === ALL_ZERO_TRACE || spanId === ALL_ZERO_SPAN) return null;
  return { traceId, spanId, flags: Number.parseInt(flags, 16) };
}

export function formatTraceparent(parent: TraceParent): string {
  return `00-${parent.traceId}-${parent.spanId}-${parent.flags.toString(16).padStart(2, '0')}`;
}

/**
 * A new trace: random ids (16 bytes for the trace, 8 for the span), sampled.
 * The bytes come from a pool drawn ahead: `randomBytes` would ask for fresh
 * entropy twice per command, a few percent of a command's CPU.
 */
export function freshTraceparent(): string {
  return formatTraceparent({ traceId: randomHex(16), spanId: randomHex(8), flags: 1 });
}

/** What an edge keeps of an incoming traceparent: itself if valid (normalised to version 00), else a fresh one, never the invalid value. */
export function acceptTraceparent(header: string | undefined): string {
  const parsed = parseTraceparent(header);
  return parsed ? formatTraceparent(parsed) : freshTraceparent();
}
