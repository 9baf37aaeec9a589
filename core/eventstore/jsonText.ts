import type { ValidationIssue } from './errors';

/** A value as JSON text for a jsonb column, or undefined with an issue when PostgreSQL could not store it. */
export function toJson(value: unknown, path: string, issues: ValidationIssue[]): string | undefined {
  try {
    const json = JSON.stringify(value);
    // PostgreSQL's jsonb cannot hold the NUL character.
    if (json.includes('\\u0000')) issues.push({ path, message: 'must not contain the NUL character (\\u0000)' });
    return json;
  } catch (error) {
    issues.push({ path, message: `is not JSON-serializable (${error instanceof Error ? error.message : String(error)})` });
    return undefined;
  }
}
