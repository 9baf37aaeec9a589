import pg from 'pg';

const POLL_MS = 25;

const COUNT_SQL = "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";

/**
 * Waits until some statement of the database at `url` waits for a lock, or
 * none does. It asks on a connection of its own, so the app's pool is left
 * alone; a cancel, too, travels on a connection of its own, hence the margin
 * for a loaded runner.
 */
export async function untilLockWaiters(url: string, until: 'some' | 'none', withinMs = 5_000): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const waiting = (await client.query<{ n: number }>(COUNT_SQL)).rows[0]?.n ?? 0;
      if (until === 'some' ? waiting > 0 : waiting === 0) return;
      if (Date.now() > deadline) throw new Error(until === 'some' ? 'no statement came to wait for a lock' : `${waiting} statement(s) still wait for a lock`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    await client.end();
  }
}
