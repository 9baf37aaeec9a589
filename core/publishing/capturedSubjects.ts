import type { SubjectCapture, SubjectCaptured } from './refusals';

export interface CapturedSubjects {
  /** After a publish NATS did not acknowledge: a "captured" kept from earlier in the run, else asked. */
  captured: SubjectCaptured;
  /**
   * Asked again (or joining a question already in flight): after "no
   * responders", the stream may have gone, and asking is what makes it again.
   */
  capturedNow: SubjectCaptured;
}

/**
 * "Which stream captures this subject?" for one publisher run. "One that
 * acknowledges" is kept for the run: it keeps a message retried. "None" and
 * "one set to no_ack" park a message for good, so they are never kept: a
 * stream may be added or changed within the run. Nor is a question that failed
 * (NATS away), or NATS coming back within the run would never be asked again.
 * The messages of one window that NATS did not answer share one question while
 * it is in flight.
 */
export function capturedSubjects(ask: SubjectCaptured): CapturedSubjects {
  const answered = new Map<string, Promise<SubjectCapture>>();
  const inFlight = new Map<string, Promise<SubjectCapture>>();
  const askNow = (subject: string) => {
    let answer = inFlight.get(subject);
    if (!answer) {
      answer = ask(subject).finally(() => inFlight.delete(subject));
      inFlight.set(subject, answer);
    }
    return answer;
  };
  const keep = (subject: string, answer: Promise<SubjectCapture>): Promise<SubjectCapture> => {
    const forget = () => {
      if (answered.get(subject) === kept) answered.delete(subject);
    };
    const kept: Promise<SubjectCapture> = answer.then(
      (capture) => {
        if (capture.kind !== 'acknowledging') forget();
        return capture;
      },
      (error: unknown) => {
        forget();
        throw error;
      },
    );
    answered.set(subject, kept);
    return kept;
  };
  return {
    captured: (subject) => answered.get(subject) ?? keep(subject, askNow(subject)),
    capturedNow: (subject) => keep(subject, askNow(subject)),
  };
}
