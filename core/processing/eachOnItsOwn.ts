import { describeError } from '../errors';

/**
 * Runs `work` on each item in turn, each on its own: one that throws (a
 * processor refused for its partition count, say) does not keep those after it
 * from running. Then, if any threw, throws an AggregateError of their errors
 * whose message names each, so the run still fails loudly, and says which.
 */
export async function eachOnItsOwn<Item, Result>(
  items: readonly Item[],
  nameOf: (item: Item) => string,
  work: (item: Item) => Promise<Result>,
): Promise<Result[]> {
  const results: Result[] = [];
  const failures: { name: string; error: unknown }[] = [];
  for (const [index, item] of items.entries()) {
    try {
      results.push(await work(item));
    } catch (error) {
      failures.push({ name: nameOrPlace(nameOf, item, index), error });
    }
  }
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((failure) => failure.error),
      namedFailures(failures, items.length),
    );
  }
  return results;
}

/** What failed of how many, each by its name: the message of eachOnItsOwn's AggregateError, and of a projector run's. */
export function namedFailures(failures: readonly { name: string; error: unknown }[], of: number): string {
  const named = failures.map((failure) => `${failure.name}: ${describeError(failure.error)}`).join('; ');
  // "1 of 1 failed, the others ran" would tell of others that are not there.
  return failures.length < of ? `${failures.length} of ${of} failed, the others ran: ${named}` : `${failures.length} of ${of} failed: ${named}`;
}

// A name that cannot be told (nameOf throws on the item that failed) must not stop the items after it, nor hide its error.
function nameOrPlace<Item>(nameOf: (item: Item) => string, item: Item, index: number): string {
  try {
    return nameOf(item);
  } catch {
    return `item ${index + 1}`;
  }
}
