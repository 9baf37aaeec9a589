import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { log } from '../core/observability';
import { sagaCounts } from '../core/sagas';
import type { FunctionRuntime } from './runtime';
import { metrics } from './observability';

/** A timeout due longer ago than this counts as overdue: the sweeper is behind or not running. */
const OVERDUE_GRACE_MS = 5_000;

/** Per saga, as EMF metrics: instances stuck, running and compensating; timeouts overdue; inputs no instance took. */
export async function reportSagaCounts(runtime: FunctionRuntime): Promise<void> {
  const counts = await sagaCounts(runtime.db, runtime.sagas.sagas.map((saga) => saga.name), { now: new Date(), overdueGraceMs: OVERDUE_GRACE_MS });
  for (const count of counts) {
    const single = metrics.singleMetric();
    single.addDimensions({ saga: count.saga });
    single.addMetric('SagasStuck', MetricUnit.Count, count.stuck);
    single.addMetric('SagasRunning', MetricUnit.Count, count.running + count.compensating);
    single.addMetric('SagaTimeoutsOverdue', MetricUnit.Count, count.overdueTimeouts);
    single.addMetric('SagaInputsUnmatched', MetricUnit.Count, count.unmatched);
    if (count.stuck > 0) log.error('saga instances are stuck: retry them once the cause is fixed', { ...count });
  }
}
