import type { PayloadTransform } from './UpcastStep';

type Payload = Record<string, unknown>;

// These run for every old event on every read, so they copy keys in a plain
// loop: measurably cheaper than object spread and rest destructuring.
function copyWith(data: Payload, skip: string | undefined, extraKey: string, extraValue: unknown): Payload {
  const copy: Payload = {};
  for (const key of Object.keys(data)) {
    if (key !== skip) copy[key] = data[key];
  }
  copy[extraKey] = extraValue;
  return copy;
}

/** A field that did not exist yet: old events get `defaultValue` (kept if the event has the field). */
export function addField(name: string, defaultValue: unknown): PayloadTransform<Payload, Payload> {
  return (data) => (name in data ? data : copyWith(data, undefined, name, defaultValue));
}

/** A field renamed from `from` to `to`. */
export function renameField(from: string, to: string): PayloadTransform<Payload, Payload> {
  return (data) => (from in data ? copyWith(data, from, to, data[from]) : data);
}

/**
 * A field whose type changed, e.g. an amount stored as a decimal string becoming
 * integer cents. The old value arrives as `unknown`: it is whatever was stored.
 */
export function convertField(name: string, convert: (value: unknown) => unknown): PayloadTransform<Payload, Payload> {
  return (data) => (name in data ? copyWith(data, undefined, name, convert(data[name])) : data);
}

/** Several changes made in one schema version, applied left to right. */
export function combine(...changes: PayloadTransform<Payload, Payload>[]): PayloadTransform<Payload, Payload> {
  return (data, metadata) => changes.reduce((current, change) => change(current, metadata), data);
}
