import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { log } from '../core/observability';
import type { Context } from 'aws-lambda';
import { ProjectorRunError, type ProjectorRun } from '../core/projections';
import { describeError } from '../core/errors';
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
 * A run in which a projection failed its turn still reports what the others
 * did, and every projection's lag, before it fails the invocation: the lag
 * alarms keep their data while one projection is broken.
 */
async function project(_event: unknown, context: Context): Promise<ProjectorRun> {
  const runtime = await getRuntime();
  const { projector } = runtime;
  let run: ProjectorRun;
  try {
    run = await projector.runUntilCaughtUp({ deadline: Date.now() + context.getRemainingTimeInMillis() - TIME_LIMIT_MARGIN_MS });
  } catch (error) {
    if (!(error instanceof ProjectorRunError)) throw error;
    report(error.run);
    log.error('a projection failed its turn of the run', { error: describeError(error), eventsApplied: error.run.eventsApplied });
    // A failed read of the gauges must not hide why the run failed.
    await reportServiceGauges(runtime).catch((gaugeError: unknown) => {
      log.error('reading the lag failed: the gauges were not reported for this run', { error: describeError(gaugeError) });
    });
    throw error;
  }
  report(run);
  // Lag of every projection (and the rest of the service's gauges), as EMF through core's metrics port.
  await reportServiceGauges(runtime);
  return run;
}

/** What the run did: its counts, and a line for each thing to know. */
function report(run: ProjectorRun): void {
  metrics.addMetric('ProjectionEventsApplied', MetricUnit.Count, run.eventsApplied);
  metrics.addMetric('ProjectionBatches', MetricUnit.Count, run.batches);
  if (run.activated.length > 0) log.info('projection generations switched', { activated: run.activated });
  if (run.stoppedByDeadline) log.warn('projector stopped at the time limit before catching up', { eventsApplied: run.eventsApplied });
  // Said by this instance too, not only by the one that took over (as a handler failure of the partition).
  if (run.leaseLost.length > 0) log.warn('the projector stalled past its lease and another instance took its partitions over', { leaseLost: run.leaseLost });
}

export const handler = lambdaEntry(project);
