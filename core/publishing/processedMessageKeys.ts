import * as z from '../schema';
import { hasLoneSurrogate } from '../text';
import { ProcessedMessageKeyError } from './ProcessedMessageKeyError';

/**
 * A consumer name or message id `processed_messages` can hold (1 to 200
 * characters, migration 0006, none of them NUL or a lone surrogate). With any
 * other, the record could never be written: every delivery would run its
 * effect and then roll it back.
 */
const processedKey = (what: string) =>
  z.string(`the ${what} must be a string`).check(
    z.minLength(1, `the ${what} is empty`),
    z.maxLength(200, `the ${what} is longer than the 200 characters processed_messages holds`),
    z.refine((key) => !key.includes('\u0000'), `the ${what} holds a NUL character, which PostgreSQL text cannot hold`),
    // Sent on, it would be stored as U+FFFD: two ids differing in one would be taken for one message.
    z.refine((key) => !hasLoneSurrogate(key), `the ${what} holds a lone UTF-16 surrogate, which PostgreSQL text cannot hold`),
  );
export const ProcessedMessageId = processedKey('message id');
export const ConsumerName = processedKey('consumer name');

export function checkedKey(schema: typeof ConsumerName, key: unknown): string {
  const parsed = schema.safeParse(key);
  if (!parsed.success) throw new ProcessedMessageKeyError(parsed.error.issues.map((issue) => issue.message).join('; '));
  return parsed.data;
}
