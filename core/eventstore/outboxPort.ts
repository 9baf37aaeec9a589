/**
 * Chooses which appended events also become outbox messages, and their subject.
 * The event store writes those outbox rows in the append's own call; core/outbox
 * provides the usual routing and publishes the rows.
 */
export interface OutboxRouting {
  /** The subject to publish the event on, or null to keep it out of the outbox. */
  subjectFor(event: { type: string; streamType: string; streamId: string }): string | null;
}

const MAX_SUBJECT_LENGTH = 255;
// Dot-separated tokens without whitespace or the wildcards * and >, which are for subscribers.
const SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

/** Why a subject cannot be published on, or undefined when it can. */
export function subjectProblem(subject: string): string | undefined {
  if (subject.length > MAX_SUBJECT_LENGTH) return `subject must be at most ${MAX_SUBJECT_LENGTH} characters`;
  if (!SUBJECT.test(subject)) {
    return `subject ${JSON.stringify(subject)} must be dot-separated tokens without whitespace, "*" or ">"`;
  }
  return undefined;
}
