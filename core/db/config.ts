import { z } from 'zod';
import { parseEnvironment } from '../environment/parseEnvironment';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

const DbConfigSchema = z.object({
  DATABASE_URL: z.string().min(1).default(DEFAULT_DATABASE_URL),
  DB_DRIVER: z.enum(['pg', 'neon', 'pglite']).default('pg'),
  /** Where the embedded PGlite keeps its data (driver `pglite`). */
  PGLITE_DATA_DIR: z.string().min(1).default('.data/pglite'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10),
});

export type DbConfig = z.infer<typeof DbConfigSchema>;

/** Reads the database settings from the environment, failing loudly on bad values. */
export function dbConfigFromEnv(env: Record<string, string | undefined> = process.env): DbConfig {
  return parseEnvironment(DbConfigSchema, env, 'database');
}
