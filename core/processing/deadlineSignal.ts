/**
 * An external batch's AbortSignal, aborted at its deadline, made only when a
 * handler reads it: the publisher, which counts its rounds against the
 * deadline, would otherwise leave a timer behind per batch.
 */
export interface DeadlineSignal {
  readonly signal: AbortSignal;
  /** Whether an error a handler threw is the signal's abort: the deadline came, nothing else went wrong. */
  abortedBy(error: unknown): boolean;
}

const ABORT_NAMES = new Set(['AbortError', 'TimeoutError']);

export function deadlineSignal(deadline: number): DeadlineSignal {
  let made: AbortSignal | undefined;
  return {
    get signal() {
      // Whole milliseconds only (AbortSignal.timeout refuses 997.5, as half an odd lease
      // is). Read past the deadline, it is aborted already: a timer of 0 would abort it
      // only on a later tick, after the handler had looked and started one more item.
      const left = Math.ceil(deadline - Date.now());
      made ??= left > 0 ? AbortSignal.timeout(left) : AbortSignal.abort(new DOMException('the batch’s deadline has passed', 'TimeoutError'));
      return made;
    },
    abortedBy(error) {
      if (!made?.aborted) return false;
      if (error === made.reason) return true;
      // fetch rejects with the reason itself; other clients with an AbortError of their own, the reason as its cause.
      return error instanceof Error && (ABORT_NAMES.has(error.name) || error.cause === made.reason);
    },
  };
}
