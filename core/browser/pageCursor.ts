import * as z from '../schema';
import { BrowserInputError } from './browserErrors';

/** A page size asked for: 1 to 200, 50 by default. */
export const PageLimit = z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(200)), 50);

/**
 * An opaque cursor: where the next page starts, as JSON in base64url. Only
 * cursors this browser gave out decode; anything else is a 400.
 */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, shape: z.ZodMiniType<T>): T | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    return shape.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new BrowserInputError('INVALID_CURSOR', 'The cursor is not one this browser gave out', { cursor });
  }
}

/** Parses query parameters with a schema, refusing what does not fit with every issue named. */
export function parseQuery<T>(schema: z.ZodMiniType<T>, query: Record<string, string | undefined>): T {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  throw new BrowserInputError('INVALID_QUERY', 'The query parameters are invalid', { issues });
}
