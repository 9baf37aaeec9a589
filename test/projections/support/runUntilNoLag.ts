import type { Db } from '../../../core/db';
import { getProjectionStatus, type Projector } from '../../../core/projections';
import { sleep } from '../../support/fixtures';

/**
 * Runs the projector until no partition of the projection (of any, without a name) has committed events
 * left to apply. A transaction held open by another test file can hold the
 * feed's horizon back for a moment, so "caught up" alone is not enough.
 */
export async function runUntilNoLag(db: Db, projector: Projector, name?: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await projector.runUntilCaughtUp();
    const statuses = await getProjectionStatus(db, name);
    const lagging = statuses
      .flatMap((status) => status.generations.flatMap((generation) => generation.partitions))
      .filter((partition) => partition.lagEvents > 0);
    if (statuses.length > 0 && lagging.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${name ?? 'a projection'} still lags: ${JSON.stringify(lagging)}`);
    await sleep(10);
  }
}
