import { createHash } from 'node:crypto';

/** One event as both the event store and the baseline write it. */
export interface SampleEvent {
  type: string;
  data: { amount: number; currency: string; note: string };
  metadata: { correlationId: string; causationId: string; traceparent: string };
}

export const STREAM_TYPE = 'Account';

// Deterministic ids, so the event store and the baseline write identical rows;
// only event_id differs (time-ordered on both sides, made by the same generator).
// Each event's own, as each request's are in the app, so the browser's indexes
// take them all over their key range, not at the ends of a few keys' runs.
const idsOf = (streamId: string, version: number) => {
  const hex = createHash('sha256').update(`${streamId}/${version}`).digest('hex');
  return {
    correlationId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`,
    causationId: `${hex.slice(32, 40)}-${hex.slice(40, 44)}-4${hex.slice(45, 48)}-8${hex.slice(49, 52)}-${hex.slice(52, 64)}`,
    traceparent: `00-${hex.slice(0, 32)}-${hex.slice(32, 48)}-01`,
  };
};

function sampleEvent(streamId: string, version: number): SampleEvent {
  return {
    type: version % 2 === 1 ? 'PaymentReceived' : 'FeeCharged',
    data: { amount: 100, currency: 'EUR', note: `Invoice ${version} for ${streamId}, paid by bank transfer` },
    // As the app's events carry them: the correlation and the trace each feed an index of the browser's.
    metadata: idsOf(streamId, version),
  };
}

/** The `count` events that follow `version` in a stream. */
export function nextEvents(streamId: string, version: number, count: number): SampleEvent[] {
  return Array.from({ length: count }, (_, offset) => sampleEvent(streamId, version + offset + 1));
}
