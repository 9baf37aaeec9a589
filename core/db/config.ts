import * as z from '../schema';
import { parseEnvironment } from '../environment/parseEnvironment';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

const DbConfigSchema = z.object({
  DATABASE_URL: z._default(z.string().check(z.minLength(1)), DEFAULT_DATABASE_URL),
  DB_DRIVER: z._default(z.enum(['pg', 'neon', 'pglite']), 'pg'),
  /** Where the embedded PGlite keeps its data (driver `pglite`). */
  PGLITE_DATA_DIR: z._default(z.string().check(z.minLength(1)), '.data/pglite'),
  DB_POOL_MAX: z._default(z.coerce.number().check(z.int(), z.positive()), 10),
  /** How long opening a connection may take (0: for ever); a server that takes the socket and says nothing is given up on. */
  DB_CONNECT_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.nonnegative()), 10_000),
  /** How long a statement may go unanswered before its connection is closed (0: for ever, the default: a migration may run long). */
  DB_QUERY_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.nonnegative()), 0),
});

export type DbConfig = z.infer<typeof DbConfigSchema>;

/** Reads the database settings from the environment, failing loudly on bad values. */
export function dbConfigFromEnv(env: Record<string, string | undefined> = process.env): DbConfig {
  return parseEnvironment(DbConfigSchema, env, 'database');
}
