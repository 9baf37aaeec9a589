import { isNativeError } from 'node:util/types';
import { storableText } from '../text/storableText';
import { thrownText } from './thrownText';

/**
 * An error as text to store or report: its cause's name and message (a wrapper
 * says less), bounded. A cause that is no error and no plain value (null, an
 * object) says nothing, and the wrapper's own message stands: a handler
 * refusing bad data has no underlying error to pass on. A NUL (a binary body
 * quoted in an error, say) becomes U+FFFD: PostgreSQL cannot store it in
 * text, and the statement recording the failure would fail in its place,
 * leaving the failure uncounted.
 */
export function describeError(error: unknown): string {
  const text = storableText(textOf(isError(error) && saysSomething(error.cause) ? error.cause : error));
  return text.length > 2_000 ? `${text.slice(0, 2_000)}…` : text;
}

// An error made in another realm (a vm context, as Jest runs tests in) is not `instanceof Error` here.
const isError = (value: unknown): value is Error => value instanceof Error || isNativeError(value);

const saysSomething = (cause: unknown): boolean => isError(cause) || (cause !== null && cause !== undefined && typeof cause !== 'object');

const textOf = (value: unknown): string => (isError(value) ? `${value.name}: ${value.message}` : thrownText(value));
