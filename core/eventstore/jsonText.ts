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
    const unstorable = whyUnstorableJson(json);
    if (unstorable) issues.push({ path, message: unstorable });
    return json;
  } catch (error) {
    issues.push({ path, message: `is not JSON-serializable (${error instanceof Error ? error.message : String(error)})` });
    return undefined;
  }
}
