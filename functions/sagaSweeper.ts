import { randomUUID } from 'node:crypto';
import { reportServiceGauges } from '../core/service';
import { log } from '../core/observability';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { lambdaEntry } from './lambdaEntry';
import { metrics } from './observability';
import { getRuntime } from './runtime';

const TIME_LIMIT_MARGIN_MS = 5_000;

const holder = `saga-sweeper-${randomUUID()}`;

/**
 * The saga timeout sweeper: fires due timeouts and dispatches abandoned steps.
 * Scheduled every minute and nudged by the saga processor; one invocation at a
 * time stays until its time limit, firing timeouts within a second of their
 * due time, so they are never a whole schedule late.
 */
async function sweepSagas(_event: unknown, context: Context): Promise<void> {
  const runtime = await getRuntime();
  const report = await runtime.sagas.watch({ holder, deadline: Date.now() + context.getRemainingTimeInMillis() - TIME_LIMIT_MARGIN_MS });
  metrics.addMetric('SagaTimeoutsFired', MetricUnit.Count, report.fired);
  metrics.addMetric('SagaStepsRedriven', MetricUnit.Count, report.redriven);
  if (report.fired > 0 || report.redriven > 0) log.info('saga sweep', { ...report });
  await reportServiceGauges(runtime);
}

export const handler = lambdaEntry(sweepSagas);
