import * as z from '../schema';

// A UUID as PostgreSQL writes it: 32 hex digits in groups of 8-4-4-4-12, of any version or
// variant. RFC 9562's own (version 1 to 8, variant 10xx) would leave out ids written by hand
// (md5(...)::uuid), which the uuid type holds and the parked list and the browser show.
const POSTGRES_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether text (from a URL, a search box, a caller) is a UUID: events, and
 * the messages parked beside them, are keyed by one, so any other text names
 * none, and asking PostgreSQL would only fail the cast.
 */
export const isUuid = (text: string): boolean => POSTGRES_UUID.test(text);

/** A UUID in text, for a schema: a caller's cursor or option naming a parked message or an event. */
export const UuidText = z.string().check(z.refine(isUuid, 'must be a UUID'));
