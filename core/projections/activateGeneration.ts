import type { Db } from '../db';
import { lockProjection } from './generationRecords';

// Every partition has reached the visible head at least once and none has failed.
const READY_SQL = `
  SELECT g.status, bool_and(p.caught_up_at IS NOT NULL AND p.state = 'running') AS ready
  FROM projection_generations g JOIN projection_partitions p USING (name, generation)
  WHERE g.name = $1 AND g.generation = $2
  GROUP BY g.status`;

const SWITCH_SQL = `
  WITH retired AS (
    UPDATE projection_generations SET status = 'retired', retired_at = now()
    WHERE name = $1 AND status = 'active'
  ), activated AS (
    UPDATE projection_generations SET status = 'active', activated_at = now()
    WHERE name = $1 AND generation = $2
  )
  UPDATE projections SET active_generation = $2, updated_at = now() WHERE name = $1`;

/**
 * Switches reads to a building generation once all its partitions have caught
 * up, in one transaction: the old generation is retired (its tables stay until
 * the next build starts). Returns whether this call made the switch.
 */
export async function activateIfCaughtUp(db: Db, name: string, generation: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    await lockProjection(tx, name);
    const { rows } = await tx.query<{ status: string; ready: boolean }>(READY_SQL, [name, generation]);
    const row = rows[0];
    if (row?.status !== 'building' || !row.ready) return false;
    await tx.query(SWITCH_SQL, [name, generation]);
    return true;
  });
}
