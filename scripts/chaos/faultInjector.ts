import type pg from 'pg';
import type { PrivateNatsServer } from '../../test/support/privateNatsServer';
import { WORKERS, type ChaosStack, type ProcessKind } from './chaosStack';

export type FaultKind = 'kill a worker' | 'kill the API' | 'kill NATS' | 'terminate database connections' | 'hold a transaction open';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Injects a fault every 2 to 5 seconds until `until`, at random: SIGKILL of a
 * worker or of the API (each restarted after a moment), SIGKILL of NATS
 * (restarted on its store), pg_terminate_backend on the app's connections, a
 * transaction held open for seconds (the feed's horizon stands still).
 * Returns how many of each it injected.
 */
export async function injectFaults(
  stack: ChaosStack,
  nats: PrivateNatsServer,
  admin: pg.Pool,
  database: string,
  until: number,
  random: () => number,
): Promise<Map<FaultKind, number>> {
  const injected = new Map<FaultKind, number>();
  const count = (kind: FaultKind) => injected.set(kind, (injected.get(kind) ?? 0) + 1);
  while (Date.now() < until) {
    await sleep(2_000 + random() * 3_000);
    if (Date.now() >= until) break;
    const roll = random();
    if (roll < 0.35) {
      const worker: ProcessKind = WORKERS[Math.floor(random() * WORKERS.length)] ?? 'projector';
      await stack.kill(worker);
      count('kill a worker');
      await sleep(300 + random() * 1_500);
      await stack.start(worker);
    } else if (roll < 0.45) {
      await stack.kill('api');
      count('kill the API');
      await sleep(300 + random() * 1_000);
      await stack.start('api');
    } else if (roll < 0.6) {
      await nats.kill();
      count('kill NATS');
      await sleep(500 + random() * 2_500);
      await nats.start();
    } else if (roll < 0.8) {
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name <> 'chaos-admin'", [database]);
      count('terminate database connections');
    } else {
      const client = await admin.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_current_xact_id()');
        count('hold a transaction open');
        await sleep(2_000 + random() * 3_000);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    }
  }
  return injected;
}
