import { hasLoneSurrogate, isAtMostCharacters } from '../text';

const MAX_SUBJECT_LENGTH = 255;
// Dot-separated tokens without whitespace, NUL (which NATS's rules exclude, though its server
// takes one) or the wildcards * and >, which are for subscribers.
const SUBJECT = /^[^\s\0.*>]+(\.[^\s\0.*>]+)*$/;
// NATS's own subjects: $JS, $KV, $O, $SYS and every other first token starting with "$" are
// APIs, which act on what is sent there ($JS.API.STREAM.PURGE.<stream> purges it), and
// _INBOX is where replies go. The publisher sends with a reply subject, so a message there
// would be a request, never stored in a stream.
const RESERVED_FIRST_TOKEN = /^(\$|_INBOX(\.|$))/;

/** Why text is not a NATS subject at all (too long, not dot-separated plain tokens), or undefined when it is one. */
export function subjectSyntaxProblem(subject: string): string | undefined {
  // In characters, as the outbox's CHECK counts them.
  if (!isAtMostCharacters(subject, MAX_SUBJECT_LENGTH)) return `subject must be at most ${MAX_SUBJECT_LENGTH} characters`;
  // A lone surrogate has no UTF-8: the client would send U+FFFD in its place, another subject than the one given.
  if (!SUBJECT.test(subject) || hasLoneSurrogate(subject)) {
    return `subject ${JSON.stringify(subject)} must be dot-separated tokens without whitespace, NUL, a lone surrogate, "*" or ">"`;
  }
  return undefined;
}

/** Why a NATS subject cannot be published on, or undefined when it can. */
export function subjectProblem(subject: string): string | undefined {
  const syntax = subjectSyntaxProblem(subject);
  if (syntax !== undefined) return syntax;
  if (RESERVED_FIRST_TOKEN.test(subject)) {
    return `subject ${JSON.stringify(subject)} is reserved for NATS: its first token must not start with "$" or be "_INBOX"`;
  }
  return undefined;
}
