import { createDb, dbConfigFromEnv, migrate } from '../core/db';

const db = createDb(dbConfigFromEnv());
try {
  const applied = await migrate(db);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
} finally {
  await db.close();
}
