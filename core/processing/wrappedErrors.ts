// How far down a chain of causes an error is looked through: wrappers wrap wrappers, not without end.
const CAUSES_LOOKED_THROUGH = 8;
// And how many errors at each depth: an AggregateError of a whole batch's items is as long as the batch.
const ERRORS_LOOKED_THROUGH_PER_LEVEL = 1_000;

/**
 * The errors an error wraps: each of an AggregateError's (a handler that
 * applied its items with eachOnItsOwn), and its cause (a wrapper's).
 */
const wrappedBy = (error: unknown): unknown[] => [
  ...(error instanceof AggregateError && Array.isArray(error.errors) ? (error.errors as unknown[]) : []),
  ...(error instanceof Error && error.cause !== undefined && error.cause !== null ? [error.cause] : []),
];

/** Whether the error, or one it wraps, passes `test`. */
export function someWrapped(error: unknown, test: (error: unknown) => boolean): boolean {
  let level: unknown[] = [error];
  for (let depth = 0; depth <= CAUSES_LOOKED_THROUGH && level.length > 0; depth++) {
    if (level.some(test)) return true;
    level = level.flatMap(wrappedBy).slice(0, ERRORS_LOOKED_THROUGH_PER_LEVEL);
  }
  return false;
}

/**
 * The failures an error stands for, shallowest first: the errors at the
 * bottom of what it wraps, or those `isLeaf` says speak for themselves; and
 * whether those are all of them (the walk is bounded: a cause chain too deep,
 * or one that wraps itself, is cut short).
 */
export function innermostErrors(error: unknown, isLeaf: (error: unknown) => boolean): { failures: unknown[]; whole: boolean } {
  const failures: unknown[] = [];
  let level: unknown[] = [error];
  for (let depth = 0; depth <= CAUSES_LOOKED_THROUGH && level.length > 0; depth++) {
    const deeper: unknown[] = [];
    for (const current of level) {
      const wrapped = isLeaf(current) ? [] : wrappedBy(current);
      if (wrapped.length === 0) failures.push(current);
      else deeper.push(...wrapped);
    }
    if (deeper.length > ERRORS_LOOKED_THROUGH_PER_LEVEL) return { failures, whole: false };
    level = deeper;
  }
  return { failures, whole: level.length === 0 };
}
