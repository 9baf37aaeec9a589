import type { Queryable } from './Db';
import { appliedMigrations, loadMigrations, type MigrationScope } from './migrate';

/** The database is behind the code: one of its migrations is missing, or was applied in another form. A database with more migrations than the code knows passes (the code before a deploy finishes). */
export class SchemaNotCurrentError extends Error {
  readonly code = 'SCHEMA_NOT_CURRENT';
  constructor(
    readonly missing: readonly string[],
    readonly changed: readonly string[],
  ) {
    const parts = [
      missing.length > 0 ? `not applied: ${missing.join(', ')}` : '',
      changed.length > 0 ? `applied in another form: ${changed.join(', ')}` : '',
    ].filter(Boolean);
    super(`The database schema is not current (${parts.join('; ')}): run the migrations (npm run migrate, or the Migrator function) before this code`);
    this.name = 'SchemaNotCurrentError';
  }
}

/** Throws SchemaNotCurrentError unless every migration of these folders is applied as it is written. */
export async function assertSchemaCurrent(db: Queryable, sets: readonly { directory: string; scope: MigrationScope }[]): Promise<void> {
  const missing: string[] = [];
  const changed: string[] = [];
  for (const { directory, scope } of sets) {
    const applied = await appliedMigrations(db, scope);
    const label = scope.kind === 'framework' ? '' : `${scope.service}/`;
    for (const migration of await loadMigrations(directory)) {
      const checksum = applied.get(migration.name);
      if (checksum === undefined) missing.push(`${label}${migration.name}`);
      else if (checksum !== migration.checksum) changed.push(`${label}${migration.name}`);
    }
  }
  if (missing.length > 0 || changed.length > 0) throw new SchemaNotCurrentError(missing, changed);
}
