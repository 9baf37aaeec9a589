import type { HeldLease } from './leasesHeldByRun';

/**
 * Runs work that holds no lock on its partition's lease (a transactional
 * batch's afterCommit, the pause before an interrupted batch's next try) with
 * the lease renewed meanwhile: a slow one is not taken over as a dead holder.
 * The first renewal comes a third of a lease after the last one, at once if
 * the batch used that much (it may have outlived the lease); each next one a
 * third after the one before settled, so a renewal waiting on a lock never
 * piles up others behind it. A renewal that fails, or finds the partition
 * taken over, leaves it to the next batch's check.
 */
export async function renewingWhile(held: HeldLease, leaseTtlMs: number, renew: () => Promise<unknown>, work: () => Promise<void>): Promise<void> {
  const every = leaseTtlMs / 3;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let done = false;
  const renewNow = () => renew().then(() => undefined, () => undefined);
  let renewing = performance.now() - held.renewedAt >= every ? renewNow() : Promise.resolve();
  await renewing;
  const renewLater = (delayMs: number) => {
    timer = setTimeout(() => {
      renewing = renewNow().then(() => {
        if (!done) renewLater(every);
      });
    }, delayMs);
  };
  renewLater(Math.max(0, held.renewedAt + every - performance.now()));
  try {
    await work();
  } finally {
    done = true;
    clearTimeout(timer);
    // None left running past the drain (which then gives the lease back).
    await renewing;
  }
}
