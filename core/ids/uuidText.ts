import * as z from '../schema';

const Uuid = z.uuid();

/**
 * Whether text (from a URL, a search box, a caller) is a UUID: events, and
 * the messages parked beside them, are keyed by one, so any other text names
 * none, and asking PostgreSQL would only fail the cast.
 */
export const isUuid = (text: string): boolean => Uuid.safeParse(text).success;
