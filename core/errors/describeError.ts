/**
 * An error as text to store or report: its cause's name and message (a wrapper
 * says less), bounded. A NUL (a binary body quoted in an error, say) becomes
 * U+FFFD: PostgreSQL cannot store it in text, and the statement recording the
 * failure would fail in its place, leaving the failure uncounted.
 */
export function describeError(error: unknown): string {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const text = (cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)).replaceAll('\u0000', '\uFFFD');
  return text.length > 2_000 ? `${text.slice(0, 2_000)}…` : text;
}
