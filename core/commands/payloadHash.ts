import { hash } from 'node:crypto';

// Typed as it behaves: undefined (and a function or a symbol) has no JSON at all.
const stringify: (value: unknown) => string | undefined = JSON.stringify;

/**
 * JSON with object keys sorted, so equal payloads hash equally whatever their
 * key order. A payload the schema parsed may hold values JSON has no form for:
 * a Date is written as its instant (as JSON.stringify would), a BigInt as its
 * digits, a Map as its entries and a Set as its members (in a canonical order:
 * JSON.stringify and Object.keys see both as empty), each tagged as an object
 * so that it never equals a string or an array of the same text.
 */
function canonicalJson(value: unknown): string {
  if (typeof value === 'bigint') return `{"$bigint":"${value.toString()}"}`;
  if (value instanceof Date) return `{"$date":${JSON.stringify(Number.isNaN(value.getTime()) ? null : value.toISOString())}}`;
  if (value instanceof Map) return `{"$map":[${[...value].map(([key, entry]) => `[${canonicalJson(key)},${canonicalJson(entry)}]`).sort().join(',')}]}`;
  if (value instanceof Set) return `{"$set":[${[...value].map(canonicalJson).sort().join(',')}]}`;
  // Every member, holes too (map skips them, and join wrote them as nothing: [undefined] hashed as []).
  if (Array.isArray(value)) return `[${Array.from(value, canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = value as Record<string, unknown>;
    // The default sort orders by UTF-16 code units, as comparing with `<` does.
    let json = '';
    for (const key of Object.keys(fields).sort()) {
      const field = fields[key];
      if (field !== undefined) json += `${json === '' ? '' : ','}${JSON.stringify(key)}:${canonicalJson(field)}`;
    }
    return `{${json}}`;
  }
  // JSON has no undefined: as JSON.stringify writes one in an array, and the payload is stored, null.
  return stringify(value) ?? 'null';
}

/**
 * Identifies a command's type and payload, to tell a retry from a reuse of its
 * id. The one-shot `hash` makes no Hash object: a command pays for this on
 * every run, most often with cold caches.
 */
export function payloadHash(commandType: string, payload: unknown): string {
  return hash('sha256', `${commandType}\n${canonicalJson(payload)}`, 'hex');
}
