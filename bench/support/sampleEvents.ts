/** One event as both the event store and the baseline write it. */
export interface SampleEvent {
  type: string;
  data: { amount: number; currency: string; note: string };
  metadata: { correlationId: string; causationId: string; traceparent: string };
}

export const STREAM_TYPE = 'Account';

// Deterministic ids, so the event store and the baseline write identical rows;
// only event_id differs (time-ordered on both sides, made by the same generator).
const uuidFrom = (kind: number, seed: number): string =>
  `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${seed.toString(16).padStart(12, '0')}`;

const traceparentFrom = (seed: number): string => `00-${seed.toString(16).padStart(32, '0')}-${seed.toString(16).padStart(16, '0')}-01`;

function sampleEvent(streamId: string, version: number): SampleEvent {
  return {
    type: version % 2 === 1 ? 'PaymentReceived' : 'FeeCharged',
    data: { amount: 100, currency: 'EUR', note: `Invoice ${version} for ${streamId}, paid by bank transfer` },
    // As the app's events carry them: the correlation and the trace each feed an index of the browser's.
    metadata: { correlationId: uuidFrom(1, version), causationId: uuidFrom(2, version), traceparent: traceparentFrom(version) },
  };
}

/** The `count` events that follow `version` in a stream. */
export function nextEvents(streamId: string, version: number, count: number): SampleEvent[] {
  return Array.from({ length: count }, (_, offset) => sampleEvent(streamId, version + offset + 1));
}
