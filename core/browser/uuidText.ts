import * as z from '../schema';

const Uuid = z.uuid();

/** Whether an id from a URL or a search box is a UUID: events and parked messages are keyed by one, so any other text names none. */
export const isUuid = (text: string): boolean => Uuid.safeParse(text).success;
