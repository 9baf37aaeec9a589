/**
 * A thrown value as text, as `String` gives it, for any value: `String` itself
 * throws on an object with no prototype (`Object.create(null)`, a parsed
 * body's dictionary) or whose `toString` throws, and a failure reported with
 * it would fail in its place, unrecorded.
 */
export function thrownText(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return '[a value with no text]';
    }
  }
}

/** What a thrown value says: an Error's message, or the value itself as text. */
export const thrownMessage = (thrown: unknown): string => (thrown instanceof Error ? thrown.message : thrownText(thrown));
