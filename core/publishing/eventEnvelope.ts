import * as z from '../schema';
import { isPlainObject } from '../eventstore';

// Checked, not rebuilt: z.record would copy the object and drop an own "__proto__"
// key, which the store keeps, so the handler would see other data than was stored.
const JsonObject = z.custom<Record<string, unknown>>(isPlainObject, 'must be a JSON object');

/** The body of every stored event's message: the event's envelope. */
export const EventEnvelope = z.object({
  eventId: z.uuid(),
  type: z.string(),
  schemaVersion: z.int(),
  streamId: z.string(),
  streamType: z.string(),
  version: z.int(),
  globalPosition: z.string(),
  recordedAt: z.string(),
  data: JsonObject,
  metadata: JsonObject,
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;
