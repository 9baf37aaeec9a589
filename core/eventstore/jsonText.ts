import { whyUnstorableJson } from '../text/storableText';
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
    const collection = json.includes('{}') ? pathToCollection(value, path) : undefined;
    if (collection !== undefined) {
      issues.push({ path: collection, message: 'is a Map or a Set, which JSON would store as {}: use a plain object or an array' });
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

/**
 * The path of the first Map or Set JSON would write, or undefined. A replacer
 * sees each value after its toJSON, so a value object that serializes itself
 * (holding a Map inside, or a Set subclass that writes an array) passes.
 */
function pathToCollection(value: unknown, path: string): string | undefined {
  const paths = new WeakMap<object, string>();
  let found: string | undefined;
  JSON.stringify(value, function (this: unknown, key: string, item: unknown) {
    if (found !== undefined) return undefined;
    const here = key === '' ? path : `${typeof this === 'object' && this !== null ? (paths.get(this) ?? path) : path}.${key}`;
    if (item instanceof Map || item instanceof Set) {
      found = here;
      return undefined;
    }
    if (typeof item === 'object' && item !== null) paths.set(item, here);
    return item;
  });
  return found;
}
