/**
 * The name under which `names` hold the header `wanted`: its own spelling if
 * present, else one differing only in case. NATS matches header names
 * exactly, but HTTP servers and other clients hand headers on lower-cased or
 * canonicalised, and the store takes a message's own `correlation-id` as its
 * `Correlation-Id` (it adds no second one): read by its exact name alone, the
 * message's own would be missed.
 */
export function headerNamed(names: Iterable<string>, wanted: string): string | undefined {
  const lower = wanted.toLowerCase();
  let differingInCase: string | undefined;
  for (const name of names) {
    if (name === wanted) return name;
    if (differingInCase === undefined && name.toLowerCase() === lower) differingInCase = name;
  }
  return differingInCase;
}
