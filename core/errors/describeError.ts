/**
 * An error as text to store or report: its cause's name and message (a wrapper
 * says less), bounded. A cause that is no Error and no plain value (null, an
 * object) says nothing, and the wrapper's own message stands: a handler
 * refusing bad data has no underlying error to pass on. A NUL (a binary body
 * quoted in an error, say) becomes U+FFFD: PostgreSQL cannot store it in
 * text, and the statement recording the failure would fail in its place,
 * leaving the failure uncounted.
 */
export function describeError(error: unknown): string {
  const text = textOf(error instanceof Error && saysSomething(error.cause) ? error.cause : error).replaceAll('\u0000', '\uFFFD');
  return text.length > 2_000 ? `${text.slice(0, 2_000)}…` : text;
}

const saysSomething = (cause: unknown): boolean => cause instanceof Error || (cause !== null && typeof cause !== 'object' && cause !== undefined);

const textOf = (value: unknown): string => (value instanceof Error ? `${value.name}: ${value.message}` : String(value));
