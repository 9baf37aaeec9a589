/**
 * Waits for a snapshot write at most `budgetMs`: a slow write finishes in the
 * background, a failed one is reported and swallowed. A snapshot is only an
 * optimisation, so it must never fail or stall the command that triggered it.
 */
export async function boundedSnapshotWrite(
  write: () => Promise<void>,
  budgetMs: number,
  onError: (error: unknown) => void,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const guarded = write().catch(onError);
  const budget = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, budgetMs);
  });
  try {
    await Promise.race([guarded, budget]);
  } finally {
    clearTimeout(timer);
  }
}
