/**
 * An external batch's AbortSignal, aborted at its deadline, made on the first
 * call only: the batch context asks for it when a handler reads it, so the
 * publisher, which counts its rounds against the deadline, leaves no timer
 * behind per batch.
 */
export function deadlineSignal(deadline: number): () => AbortSignal {
  let made: AbortSignal | undefined;
  return () => {
    // Whole milliseconds only (AbortSignal.timeout refuses 997.5, as half an odd lease
    // is). Read past the deadline, it is aborted already: a timer of 0 would abort it
    // only on a later tick, after the handler had looked and started one more item.
    const left = Math.ceil(deadline - Date.now());
    made ??= left > 0 ? AbortSignal.timeout(left) : AbortSignal.abort(new DOMException('the batch’s deadline has passed', 'TimeoutError'));
    return made;
  };
}
