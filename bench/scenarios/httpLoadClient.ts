/**
 * The HTTP benchmark's client, run in a worker thread: a load generator in the
 * server's own event loop would bill its fetch work to the server's latencies,
 * which no real client does. Posts deposits over keep-alive connections, one
 * per worker, and sends back what it measured and how many deposits were
 * acknowledged.
 */
import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { runClosedLoop } from '../support/closedLoop';

export const HttpLoadSchema = z.object({
  url: z.string(),
  accounts: z.array(z.string()),
  concurrency: z.number().int().positive(),
  warmupMs: z.number(),
  durationMs: z.number(),
});

export type HttpLoad = z.infer<typeof HttpLoadSchema>;

function postDeposit(agent: Agent, url: URL, accountId: string): Promise<void> {
  const body = JSON.stringify({ accountId, amount: 100 });
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          if (response.statusCode === 200) resolve();
          else reject(new Error(`deposit answered ${String(response.statusCode)}: ${Buffer.concat(chunks).toString()}`));
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

async function run(load: HttpLoad) {
  const target = new URL('/commands/Deposit', load.url);
  const agent = new Agent({ keepAlive: true, maxSockets: load.concurrency });
  // Every deposit answered 200, the warm-up's too: the benchmark checks them against the events written.
  let acknowledged = 0;
  try {
    const result = await runClosedLoop({
      concurrency: load.concurrency,
      warmupMs: load.warmupMs,
      durationMs: load.durationMs,
      createWorker: (index) => async () => {
        await postDeposit(agent, target, load.accounts[index] ?? '');
        acknowledged += 1;
      },
    });
    return { ...result, acknowledged };
  } finally {
    agent.destroy();
  }
}

if (parentPort) {
  const port = parentPort;
  run(HttpLoadSchema.parse(workerData)).then(
    (result) => {
      port.postMessage({ ok: true, result });
    },
    (error: unknown) => {
      port.postMessage({ ok: false, error: String(error) });
    },
  );
}
