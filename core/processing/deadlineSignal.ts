/**
 * An external batch's AbortSignal, aborted at its deadline, made only when a
 * handler reads it: the publisher, which counts its rounds against the
 * deadline, would otherwise leave a timer behind per batch.
 */
export function deadlineSignal(deadline: number): { readonly signal: AbortSignal } {
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
  };
}
