import type { Queryable } from '../db';

const RESUME_SQL = `
  UPDATE projection_partitions p
  SET state = 'running', attempts = 0, next_attempt_at = NULL, updated_at = now()
  FROM projection_generations g
  WHERE g.name = p.name AND g.generation = p.generation AND g.status <> 'retired'
    AND p.name = $1 AND (p.state = 'failed' OR p.next_attempt_at IS NOT NULL)
  RETURNING p.generation, p.partition`;

/**
 * Puts a projection's failed partitions back to work (after the handler or the
 * data was fixed), with fresh attempts and no wait. Their last error stays
 * visible until a batch succeeds. Returns the partitions resumed.
 */
export async function resumeProjection(db: Queryable, name: string): Promise<{ generation: number; partition: number }[]> {
  const { rows } = await db.query<{ generation: number; partition: number }>(RESUME_SQL, [name]);
  return rows;
}
