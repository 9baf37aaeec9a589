import { whyUnstorableJson } from '../text';
import type { ValidationIssue } from './errors';

/**
 * A JSON object as text for a jsonb column, or undefined with an issue when it
 * is not one or PostgreSQL could not store it. The value was checked to be a
 * plain object, but a toJSON method of its own can turn it into anything.
 */
export function toJsonObject(value: unknown, path: string, issues: ValidationIssue[]): string | undefined {
  try {
    const json: unknown = JSON.stringify(value);
    if (typeof json !== 'string' || !json.startsWith('{')) {
      issues.push({ path, message: 'must serialize to a JSON object (its toJSON method returned something else)' });
      return undefined;
    }
    // A Map or a Set anywhere in it is written as {}: its content would be lost without a word.
    const collection = json.includes('{}') ? pathToFirst(value, path, isCollection) : undefined;
    if (collection !== undefined) {
      issues.push({ path: collection, message: 'is a Map or a Set, which JSON would store as {}: use a plain object or an array' });
      return undefined;
    }
    // NaN and Infinity are written as null: a number would become none without a word.
    // Looked for only where JSON wrote a null value (not a string or key holding the word).
    const notFinite = NULL_VALUE.test(json) ? pathToFirst(value, path, isNonFiniteNumber) : undefined;
    if (notFinite !== undefined) {
      issues.push({ path: notFinite, message: 'is NaN or Infinity, which JSON would store as null: use a finite number, or null' });
      return undefined;
    }
    const unstorable = whyUnstorableJson(json);
    if (unstorable) issues.push({ path, message: unstorable });
    return json;
  } catch (error) {
    issues.push({ path, message: `is not JSON-serializable (${error instanceof Error ? error.message : String(error)})` });
    return undefined;
  }
}

const isCollection = (item: unknown): boolean => item instanceof Map || item instanceof Set;
// A replacer is handed a boxed number (Object(NaN)) before JSON unboxes it; its tag, not
// instanceof, tells one made in another realm too.
const isNonFiniteNumber = (item: unknown): boolean =>
  (typeof item === 'number' || Object.prototype.toString.call(item) === '[object Number]') && !Number.isFinite(Number(item));
const NULL_VALUE = /[:,[]null/;

/**
 * The path of the first value JSON would write that `test` picks, or undefined.
 * A replacer sees each value after its toJSON, so a value object that
 * serializes itself (holding a Map inside, or a Set subclass that writes an
 * array) passes.
 */
function pathToFirst(value: unknown, path: string, test: (item: unknown) => boolean): string | undefined {
  const paths = new WeakMap<object, string>();
  let found: string | undefined;
  JSON.stringify(value, function (this: unknown, key: string, item: unknown) {
    if (found !== undefined) return undefined;
    const here = key === '' ? path : `${typeof this === 'object' && this !== null ? (paths.get(this) ?? path) : path}.${key}`;
    if (test(item)) {
      found = here;
      return undefined;
    }
    if (typeof item === 'object' && item !== null) paths.set(item, here);
    return item;
  });
  return found;
}
