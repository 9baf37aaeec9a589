import { randomUUID } from 'node:crypto';

/**
 * A new event id: a UUID version 7 (RFC 9562), whose first 48 bits are the
 * time in milliseconds. Ids made later sort later, so the unique index on
 * event ids grows at its right edge, like the feed's, instead of touching a
 * random page of a large index on every append. The random bits and the
 * variant come from a version 4 UUID, which Node makes from pooled entropy.
 */
export function newEventId(now: number = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  const random = randomUUID();
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}
