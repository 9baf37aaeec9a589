import { randomUUID } from 'node:crypto';
import { reportServiceGauges } from '../core/service';
import { log } from '../core/observability';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { lambdaEntry } from './lambdaEntry';
import { metrics } from './observability';
import { getRuntime } from './runtime';

const LEASE_LOST = 'the saga processor stalled past its lease and another instance took its partitions over';

/** No batch starts closer than this to the Lambda's time limit. */
const TIME_LIMIT_MARGIN_MS = 5_000;

// Names this container in the leases of the saga partitions it takes.
const holder = `saga-processor-${randomUUID()}`;

/**
 * Runs every saga's processor until the partitions it can lease are caught
 * up, dispatching the steps each batch decided; then reports the sagas'
 * counts. Scheduled every minute and nudged after commits.
 */
async function processSagas(_event: unknown, context: Context): Promise<void> {
  const runtime = await getRuntime();
  const runs = await runtime.sagas.run({ holder, deadline: Date.now() + context.getRemainingTimeInMillis() - TIME_LIMIT_MARGIN_MS });
  const events = runs.reduce((sum, run) => sum + run.items, 0);
  metrics.addMetric('SagaEventsHandled', MetricUnit.Count, events);
  runs.forEach((run, index) => {
    for (const failure of run.failures) log.error('saga processor failed on an event', { processor: failure.processor, partition: failure.partition, eventId: failure.error.itemId, attempts: failure.attempts, error: failure.error });
    // Said by this instance too, not only by the one that took over (as a failure counted against the batch).
    if (run.leaseLost.length > 0) {
      log.warn(LEASE_LOST, { processor: runtime.sagas.processors[index]?.name, partitions: run.leaseLost });
    }
  });
  await reportServiceGauges(runtime);
}

export const handler = lambdaEntry(processSagas);
