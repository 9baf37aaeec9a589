import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { log } from '../core/observability';
import type { Context } from 'aws-lambda';
import type { ProjectorRun } from '../core/projections';
import { reportServiceGauges } from '../core/service';
import { lambdaEntry } from './lambdaEntry';
import { getRuntime } from './runtime';
import { metrics } from './observability';

/** No batch starts closer than this to the Lambda's time limit. */
const TIME_LIMIT_MARGIN_MS = 5_000;

/**
 * Runs projector batches until every partition it can lease is caught up, or
 * until close to the time limit; then reports lag. Scheduled every minute and
 * nudged after commits; any payload (a schedule event, `{}`) is accepted and
 * ignored. Concurrent invocations share the partitions through their leases.
 */
async function project(_event: unknown, context: Context): Promise<ProjectorRun> {
  const runtime = await getRuntime();
  const { projector } = runtime;
  const run = await projector.runUntilCaughtUp({ deadline: Date.now() + context.getRemainingTimeInMillis() - TIME_LIMIT_MARGIN_MS });
  metrics.addMetric('ProjectionEventsApplied', MetricUnit.Count, run.eventsApplied);
  metrics.addMetric('ProjectionBatches', MetricUnit.Count, run.batches);
  // Lag of every projection (and the rest of the service's gauges), as EMF through core's metrics port.
  await reportServiceGauges(runtime);
  if (run.activated.length > 0) log.info('projection generations switched', { activated: run.activated });
  if (run.stoppedByDeadline) log.warn('projector stopped at the time limit before catching up', { eventsApplied: run.eventsApplied });
  // Said by this instance too, not only by the one that took over (as a handler failure of the partition).
  if (run.leaseLost.length > 0) log.warn('the projector stalled past its lease and another instance took its partitions over', { leaseLost: run.leaseLost });
  return run;
}

export const handler = lambdaEntry(project);
