import type { SubjectCaptured } from './refusals';

export interface CapturedSubjects {
  /** The run's answer, asked once: after a publish NATS did not acknowledge. */
  captured: SubjectCaptured;
  /**
   * Asked again (or joining a question already in flight): after "no
   * responders", the stream may have gone, and asking is what makes it again.
   */
  capturedNow: SubjectCaptured;
}

/**
 * "Does a stream capture this subject?" for one publisher run. An answer is
 * kept for the run; a question that failed (NATS away) is not, or NATS coming
 * back within the run would never be asked again. The messages of one window
 * that NATS did not answer share one question while it is in flight.
 */
export function capturedSubjects(ask: SubjectCaptured): CapturedSubjects {
  const answered = new Map<string, Promise<boolean>>();
  const inFlight = new Map<string, Promise<boolean>>();
  const askNow = (subject: string) => {
    let answer = inFlight.get(subject);
    if (!answer) {
      answer = ask(subject).finally(() => inFlight.delete(subject));
      inFlight.set(subject, answer);
    }
    return answer;
  };
  const keep = (subject: string, answer: Promise<boolean>): Promise<boolean> => {
    const kept = answer.catch((error: unknown) => {
      if (answered.get(subject) === kept) answered.delete(subject);
      throw error;
    });
    answered.set(subject, kept);
    return kept;
  };
  return {
    captured: (subject) => answered.get(subject) ?? keep(subject, askNow(subject)),
    capturedNow: (subject) => keep(subject, askNow(subject)),
  };
}
