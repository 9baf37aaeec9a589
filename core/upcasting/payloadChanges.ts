import type { PayloadTransform } from './UpcastStep';

type Payload = Record<string, unknown>;

/** A field that did not exist yet: old events get `defaultValue` (kept if the event has the field). */
export function addField(name: string, defaultValue: unknown): PayloadTransform<Payload, Payload> {
  return (data) => (name in data ? data : { ...data, [name]: defaultValue });
}

/** A field renamed from `from` to `to`. */
export function renameField(from: string, to: string): PayloadTransform<Payload, Payload> {
  return (data) => {
    if (!(from in data)) return data;
    const { [from]: value, ...rest } = data;
    return { ...rest, [to]: value };
  };
}

/**
 * A field whose type changed, e.g. an amount stored as a decimal string becoming
 * integer cents. The old value arrives as `unknown`: it is whatever was stored.
 */
export function convertField(name: string, convert: (value: unknown) => unknown): PayloadTransform<Payload, Payload> {
  return (data) => (name in data ? { ...data, [name]: convert(data[name]) } : data);
}

/** Several changes made in one schema version, applied left to right. */
export function combine(...changes: PayloadTransform<Payload, Payload>[]): PayloadTransform<Payload, Payload> {
  return (data, metadata) => changes.reduce((current, change) => change(current, metadata), data);
}
