import { whyUnstorableJson } from '../text/storableText';
import type { ValidationIssue } from './errors';

/** A value as JSON text for a jsonb column, or undefined with an issue when PostgreSQL could not store it. */
export function toJson(value: unknown, path: string, issues: ValidationIssue[]): string | undefined {
  try {
    const json = JSON.stringify(value);
    const unstorable = whyUnstorableJson(json);
    if (unstorable) issues.push({ path, message: unstorable });
    return json;
  } catch (error) {
    issues.push({ path, message: `is not JSON-serializable (${error instanceof Error ? error.message : String(error)})` });
    return undefined;
  }
}
