const MAX_SUBJECT_LENGTH = 255;
// Dot-separated tokens without whitespace or the wildcards * and >, which are for subscribers.
const SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

/** Why a NATS subject cannot be published on, or undefined when it can. */
export function subjectProblem(subject: string): string | undefined {
  if (subject.length > MAX_SUBJECT_LENGTH) return `subject must be at most ${MAX_SUBJECT_LENGTH} characters`;
  if (!SUBJECT.test(subject)) {
    return `subject ${JSON.stringify(subject)} must be dot-separated tokens without whitespace, "*" or ">"`;
  }
  return undefined;
}
