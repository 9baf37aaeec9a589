import type { Queryable } from '../../../core/db';
import { getProcessorStatus } from '../../../core/processing';
import type { ServiceRuntime } from '../../../core/service';
import { sleep } from '../../support/fixtures';

/** Instances still moving: running or compensating, or with a step not yet dispatched. */
export async function unsettledInstances(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ count: number }>(`
    SELECT count(*)::int AS count FROM saga_instances i
    WHERE i.phase IN ('running', 'compensating')
       OR EXISTS (SELECT 1 FROM saga_steps s WHERE s.saga = i.saga AND s.saga_id = i.saga_id AND s.status = 'pending')`);
  return rows[0]?.count ?? 0;
}

/** Whether every partition of every saga processor has run and has nothing left to read. */
async function processorsCaughtUp(runtime: ServiceRuntime): Promise<boolean> {
  for (const processor of runtime.sagas.processors) {
    const partitions = await getProcessorStatus(runtime.db, processor);
    if (partitions.length < processor.partitions || partitions.some((partition) => partition.lagItems > 0)) return false;
  }
  return true;
}

/**
 * Runs the saga processors and the sweeper until every instance has settled
 * (completed or stuck, its steps dispatched) and the feed holds nothing new,
 * or fails after `timeoutMs`.
 */
export async function runSagasUntilSettled(runtime: ServiceRuntime, options: { timeoutMs?: number; holder?: string } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const runs = await runtime.sagas.run({ holder: options.holder ?? 'test', deadline: Date.now() + 5_000 });
    await runtime.sagas.sweep();
    const idle = runs.every((run) => run.items === 0);
    if (idle && (await unsettledInstances(runtime.db)) === 0 && (await processorsCaughtUp(runtime))) return;
    if (Date.now() > deadline) throw new Error(`sagas still unsettled: ${String(await unsettledInstances(runtime.db))} instances`);
    await sleep(idle ? 20 : 0);
  }
}
