/**
 * Makes PGlite read and write values the way node-postgres does, so code (and
 * row types such as the event store's `EventTuple`) written against the `pg`
 * adapter sees the same JavaScript values on PGlite.
 */

const INT8 = 20;

/**
 * node-postgres returns `bigint` columns as strings. PGlite returns a number when
 * the value fits and a BigInt otherwise, so a column's JavaScript type would
 * depend on its value; keeping the text makes it always a string, as on `pg`.
 * PGlite's array parsers look the element parser up on each call, so `bigint[]`
 * reads as `string[]` too.
 */
export const NODE_POSTGRES_PARSERS: Record<number, (text: string) => unknown> = {
  [INT8]: (text) => text,
};

/**
 * Converts one query parameter as node-postgres would before PGlite sees it.
 * PGlite serialises by the parameter's declared type, and falls back to
 * `toString()` for types it has no serialiser for (`xid8`, `uuid`, ...), which
 * would send a plain object as "[object Object]" and a Date in `Date#toString` form.
 */
export function toPgliteParam(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  // Arrays are left to PGlite, which writes them as array literals or JSON by type;
  // bytes (Buffer is a Uint8Array) go to its bytea serialiser.
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    return JSON.stringify(value);
  }
  return value;
}
