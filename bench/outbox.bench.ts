/**
 * Publishing stored events from the feed to JetStream, beside direct pipelined
 * publishes of the same messages with no database, on a fresh database that is
 * dropped afterwards. Writes bench/results/outbox.json.
 */
import { fileURLToPath } from 'node:url';
import { compareInterleaved } from './support/compareInterleaved';
import { formatReport } from './support/report';
import { runBench } from './support/runBench';
import type { Measurement } from './support/targets';
import { DIRECT_PUBLISHES, fillFeed, measureDirectPublishes, measurePublisher, type PublishingWorkload } from './scenarios/feedPublishing';

const RESULTS_PATH = fileURLToPath(new URL('results/outbox.json', import.meta.url));
const WORKLOAD: PublishingWorkload = { streams: 500, eventsPerStream: 100, batchSize: 1000, partitions: 4 };
async function runBenchmarks(url: string): Promise<Measurement[]> {
  console.error(`  filling the feed with ${WORKLOAD.streams * WORKLOAD.eventsPerStream} events`);
  await fillFeed(url, WORKLOAD);
  const messages = WORKLOAD.streams * WORKLOAD.eventsPerStream;
  // One untimed run of the publisher and of both baselines first, as the other
  // benchmarks warm up: a process's first publisher run was about a tenth slower.
  await measurePublisher(url, WORKLOAD);
  await measureDirectPublishes(url, WORKLOAD, DIRECT_PUBLISHES.publisherPath);
  await measureDirectPublishes(url, WORKLOAD, DIRECT_PUBLISHES.jsPublish);
  // What the database work (reading pages, storing checkpoints) and per-stream rounds cost.
  const againstOwnPath = await compareInterleaved(
    `feed to JetStream, ${messages} events, 1 publisher (baseline: its own publishing path, no database)`,
    'messages/s',
    () => measurePublisher(url, WORKLOAD),
    () => measureDirectPublishes(url, WORKLOAD, DIRECT_PUBLISHES.publisherPath),
  );
  const againstJsPublish = await compareInterleaved(
    `feed to JetStream, ${messages} events, 1 publisher (baseline: direct pipelined js.publish)`,
    'messages/s',
    () => measurePublisher(url, WORKLOAD),
    () => measureDirectPublishes(url, WORKLOAD, DIRECT_PUBLISHES.jsPublish),
  );
  return [
    { ...againstOwnPath, target: { on: 'ratio', min: 0.7 } },
    { ...againstJsPublish, target: { on: 'ratio', min: 1.0 } },
  ];
}

runBench({ resultsPath: RESULTS_PATH, expected: 'about 60 s', run: runBenchmarks, format: formatReport });
