import type { Queryable } from '../db';

/** Drops a generation's tables (quoted names), in one statement: one of them may reference another (a foreign key). */
export async function dropTables(tx: Queryable, quotedNames: readonly string[]): Promise<void> {
  if (quotedNames.length > 0) await tx.query(`DROP TABLE IF EXISTS ${quotedNames.join(', ')}`);
}
