import { assertSchemaCurrent, DEFAULT_MIGRATIONS_DIRECTORY, FRAMEWORK, migrate, type Db, type MigrationScope, type Queryable } from '../db';
import type { Service } from './defineService';

/**
 * Where the SQL files are when they are not where the source says: a bundled
 * function carries copies (see sst.config.ts) and names their folders here.
 */
export interface MigrationDirectories {
  framework?: string;
  service?: string;
}

/** The framework's migrations, then the service's own (tracked apart under its name). */
function migrationSets(service: Service, directories: MigrationDirectories): { directory: string; scope: MigrationScope }[] {
  const own = directories.service ?? service.migrations;
  return [
    { directory: directories.framework ?? DEFAULT_MIGRATIONS_DIRECTORY, scope: FRAMEWORK },
    ...(own ? [{ directory: own, scope: { kind: 'service' as const, service: service.name } }] : []),
  ];
}

/** The folders named by MIGRATIONS_DIRECTORY and SERVICE_MIGRATIONS_DIRECTORY, when set. */
export function migrationDirectoriesFromEnv(env: Record<string, string | undefined>): MigrationDirectories {
  return {
    ...(env.MIGRATIONS_DIRECTORY ? { framework: env.MIGRATIONS_DIRECTORY } : {}),
    ...(env.SERVICE_MIGRATIONS_DIRECTORY ? { service: env.SERVICE_MIGRATIONS_DIRECTORY } : {}),
  };
}

export interface AppliedMigrations {
  framework: string[];
  service: string[];
}

/** Applies what is pending of the framework's migrations, then of the service's; returns what it applied. */
export async function migrateService(db: Db, service: Service, directories: MigrationDirectories = {}): Promise<AppliedMigrations> {
  const applied: AppliedMigrations = { framework: [], service: [] };
  for (const set of migrationSets(service, directories)) {
    const names = await migrate(db, set);
    if (set.scope.kind === 'framework') applied.framework = names;
    else applied.service = names;
  }
  return applied;
}

/** Throws SchemaNotCurrentError unless the framework's and the service's migrations are all applied. */
export async function assertServiceSchemaCurrent(db: Queryable, service: Service, directories: MigrationDirectories = {}): Promise<void> {
  await assertSchemaCurrent(db, migrationSets(service, directories));
}
