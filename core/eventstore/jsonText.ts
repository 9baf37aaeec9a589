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

/** The path of the first Map or Set inside a value, walking what JSON would write. */
function pathToCollection(value: unknown, path: string, seen = new Set<object>()): string | undefined {
  if (value instanceof Map || value instanceof Set) return path;
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  seen.add(value);
  const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
  for (const [key, item] of entries) {
    const found = pathToCollection(item, `${path}.${key}`, seen);
    if (found !== undefined) return found;
  }
  return undefined;
}
