/** An error as text to store or report: its cause's name and message (a wrapper says less), bounded. */
export function describeError(error: unknown): string {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return text.length > 2_000 ? `${text.slice(0, 2_000)}…` : text;
}
