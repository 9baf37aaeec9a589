/**
 * Outbox to JetStream throughput beside direct pipelined publishes of the same
 * messages with no database, on a fresh database that is dropped afterwards.
 * Writes bench/results/outbox.json.
 */
import { fileURLToPath } from 'node:url';
import { compareInterleaved } from './support/compareInterleaved';
import { formatReport } from './support/report';
import { runBench } from './support/runBench';
import type { Measurement } from './support/targets';
import { DIRECT_PUBLISHES, fillOutbox, measureDirectPublishes, measurePublisher, type OutboxWorkload } from './scenarios/outboxPublishing';

const RESULTS_PATH = fileURLToPath(new URL('results/outbox.json', import.meta.url));
const WORKLOAD: OutboxWorkload = { streams: 500, eventsPerStream: 100, batchSize: 1000, partitions: 4 };
const TARGET = { on: 'ratio', min: 0.7 } as const;

async function runBenchmarks(url: string): Promise<Measurement[]> {
  console.error(`  filling the outbox with ${WORKLOAD.streams * WORKLOAD.eventsPerStream} events`);
  await fillOutbox(url, WORKLOAD);
  const messages = WORKLOAD.streams * WORKLOAD.eventsPerStream;
  const againstJsPublish = await compareInterleaved(
    `outbox to JetStream, ${messages} messages, 1 publisher (baseline: direct pipelined js.publish)`,
    'messages/s',
    () => measurePublisher(url, WORKLOAD),
    () => measureDirectPublishes(url, WORKLOAD, DIRECT_PUBLISHES.jsPublish),
  );
  // The publisher does not publish through js.publish. Shown for information, with no
  // target: what the database work (reading, marking) and per-stream rounds cost it.
  const againstOwnPath = await compareInterleaved(
    `outbox to JetStream, ${messages} messages, 1 publisher (baseline: its own publishing path, no database)`,
    'messages/s',
    () => measurePublisher(url, WORKLOAD),
    () => measureDirectPublishes(url, WORKLOAD, DIRECT_PUBLISHES.publisherPath),
  );
  return [
    { ...againstJsPublish, target: TARGET },
    againstOwnPath,
  ];
}

runBench({ resultsPath: RESULTS_PATH, expected: 'about 60 s', run: runBenchmarks, format: formatReport });
