// One process of the chaos stack: the HTTP API alone, or one background worker
// (projector, publisher, saga processor, sweeper), running until killed.
// Usage: tsx scripts/chaos/chaosWorker.ts <api|projector|publisher|sagas|sweeper> [port]
import { randomUUID } from 'node:crypto';
import { configureLogging } from '../../core/observability';
import { createServicePublisher, retentionConfigFromEnv, runRetention } from '../../core/service';
import { startDevServer } from '../../functions/local';
import { runtimeLoader } from '../../functions/runtime';
import { service } from '../../functions/service';

const [kind = '', port = '0'] = process.argv.slice(2);
const holder = `chaos-${kind}-${randomUUID()}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// Quiet but for what goes wrong: a worker's failures are expected here, and retried.
configureLogging((level, message, fields) => {
  if (level === 'error') process.stderr.write(`${kind}: ${message} ${JSON.stringify(fields)}\n`);
});

async function forever(work: () => Promise<unknown>, idleMs: number): Promise<never> {
  for (;;) {
    try {
      await work();
    } catch (error) {
      process.stderr.write(`${kind}: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    await sleep(idleMs);
  }
}

if (kind === 'api') {
  const dev = await startDevServer(service, { port: Number(port), background: false, onError: () => undefined });
  process.stdout.write(`listening on ${dev.url}\n`);
} else {
  const load = runtimeLoader(service, { migrate: false });
  process.stdout.write('ready\n');
  switch (kind) {
    case 'projector':
      await forever(async () => (await load()).projector.runUntilCaughtUp({ deadline: Date.now() + 10_000 }), 50);
      break;
    case 'publisher': {
      const runtime = await load();
      const publisher = createServicePublisher(runtime, { ...runtime.publishing, NATS_URL: runtime.publishing.NATS_URL ?? '' }, { holder });
      await forever(async () => {
        const report = await publisher.run({ deadline: Date.now() + 10_000 });
        // Reported, not thrown, by the run: its publishing stands.
        if (report.cleanupError !== null) process.stderr.write(`${kind}: outbox cleanup: ${report.cleanupError}\n`);
      }, 50);
      break;
    }
    case 'sagas':
      await forever(async () => (await load()).sagas.run({ holder, deadline: Date.now() + 10_000, leaseTtlMs: 3_000 }), 50);
      break;
    case 'sweeper':
      // Each part on its own, as the deployed sweepers run them: one failing skips none of the others.
      await Promise.all([
        forever(async () => (await load()).sagas.sweep(), 500),
        forever(async () => (await load()).asyncCommands.sweepPendingCommands({ olderThanMs: 2_000 }), 500),
        forever(async () => runRetention((await load()).db, retentionConfigFromEnv()), 500),
      ]);
      break;
    default:
      throw new Error(`unknown worker ${kind}`);
  }
}
