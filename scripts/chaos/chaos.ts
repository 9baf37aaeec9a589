// npm run chaos [-- --seconds N]: the whole system, as separate processes, under
// random faults; then a table of invariants. Exits 1 on any breach.
import net from 'node:net';
import pg from 'pg';
import { createInProcessDispatcher } from '../../core/commands';
import { createPgDb } from '../../core/db';
import { createServiceRuntime, migrateService } from '../../core/service';
import { service } from '../../functions/service';
import { seededRandom } from '../../test/support/seededRandom';
import { startPrivateNatsServer } from '../../test/support/privateNatsServer';
import { createTestDatabase } from '../../test/support/testDatabase';
import { ChaosStack, WORKERS } from './chaosStack';
import { injectFaults } from './faultInjector';
import { checkInvariants, stillMoving } from './invariants';
import { driveLoad, newLedger, openAccounts } from './loadDriver';

const argument = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const SECONDS = argument('seconds', Number(process.env.CHAOS_SECONDS ?? 600));
const SEED = argument('seed', Date.now() % 1_000_000);
const CLIENTS = 4;
const SETTLE_LIMIT_MS = 240_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  return port;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<boolean> {
  const random = seededRandom(SEED);
  say(`chaos: ${String(SECONDS)} s of load and faults (seed ${String(SEED)})`);
  const database = await createTestDatabase({ migrated: false });
  const nats = await startPrivateNatsServer();
  const streamName = 'CHAOS';
  const url = new URL(database.url);
  url.searchParams.set('application_name', 'chaos-app');
  const env = { ...process.env, DATABASE_URL: url.toString(), NATS_URL: nats.url, PUBLISH_STREAM: streamName, PUBLISH_SUBJECT_PREFIX: 'chaos', DB_POOL_MAX: '8', POWERTOOLS_LOG_LEVEL: 'SILENT' };
  const admin = new pg.Pool({ connectionString: database.url, max: 2, application_name: 'chaos-admin' });
  const db = createPgDb({ connectionString: database.url, max: 4 });
  const stack = new ChaosStack(env, await freePort());
  try {
    await migrateService(db, service);
    await stack.start('api');
    for (const worker of WORKERS) await stack.start(worker);
    const ledger = newLedger();
    await openAccounts(stack.apiUrl, ledger, 20, 3);
    const until = Date.now() + SECONDS * 1000;
    // The API's address survives its restarts: the port is the stack's.
    const load = Promise.all(Array.from({ length: CLIENTS }, () => driveLoad(stack.apiUrl, ledger, until, random)));
    const faults = await injectFaults(stack, nats, admin, database.name, until, random);
    await load;
    say(`load: ${String(ledger.requests)} requests, ${String(ledger.acknowledged.size)} acknowledged, ${String(ledger.sent.length)} sent, ${String(ledger.refused)} refused, ${String(ledger.failed)} failed (5xx), ${String(ledger.unanswered)} unanswered`);
    say(`faults: ${[...faults].map(([kind, count]) => `${kind} x${String(count)}`).join(', ') || 'none'}`);

    // Healed: everything up again; the stack settles before the checks.
    const runtime = createServiceRuntime(service, { db, dispatcher: (run) => createInProcessDispatcher(run) });
    const settleBy = Date.now() + SETTLE_LIMIT_MS;
    const settling = Date.now();
    while (Date.now() < settleBy && (await stillMoving(runtime)) > 0) await sleep(1_000);
    say(`settled in ${String(Math.round((Date.now() - settling) / 1000))} s`);
    await stack.stopAll();
    const invariants = await checkInvariants(runtime, ledger, { url: nats.url, stream: streamName });
    const width = Math.max(...invariants.map((invariant) => invariant.name.length));
    say('');
    for (const invariant of invariants) say(`${invariant.holds ? 'holds ' : 'BROKEN'}  ${invariant.name.padEnd(width)}  ${invariant.detail}`);
    for (const line of invariants.flatMap((invariant) => invariant.evidence ?? [])) say(line);
    return invariants.every((invariant) => invariant.holds);
  } finally {
    await stack.stopAll();
    await db.close();
    await admin.end();
    await nats.close();
    await database.drop();
  }
}

main().then(
  (held) => {
    process.exitCode = held ? 0 : 1;
  },
  (error: unknown) => {
    process.stderr.write(`chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
