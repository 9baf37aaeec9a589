import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { addMetricsSink, configureLogging } from '../core/observability';

// One instance each per Lambda container, shared by every handler in it.
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'service';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'ServerlessEventSourcing' });

/**
 * Whether the X-Ray tracer is wanted here: in Lambda (not SAM local), and only
 * when POWERTOOLS_TRACE_ENABLED=true. It is opt-in because the framework traces
 * through OpenTelemetry, the SST app turns on no active tracing (so X-Ray would
 * mostly record nothing), and loading its SDK adds about 10 ms to every cold start.
 */
export function xrayTracingEnabled(env: Record<string, string | undefined> = process.env): boolean {
  return Boolean(env.AWS_EXECUTION_ENV) && !env.AWS_SAM_LOCAL && env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() === 'true';
}

/**
 * The tracer, where it is wanted. Elsewhere it is not even imported: importing
 * it starts the X-Ray SDK, whose async hooks then tax every promise of the
 * process (about 6% of a command's CPU).
 */
export const tracer: Tracer | undefined = xrayTracingEnabled()
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer({ serviceName })
  : undefined;

const POWERTOOLS_UNITS = { count: MetricUnit.Count, milliseconds: MetricUnit.Milliseconds, seconds: MetricUnit.Seconds } as const;

/** core's figures as EMF: with labels, each is its own metric set with them as dimensions. */
function emit(name: string, value: number, unit: keyof typeof POWERTOOLS_UNITS, labels: Record<string, string>): void {
  if (Object.keys(labels).length === 0) {
    metrics.addMetric(name, POWERTOOLS_UNITS[unit], value);
    return;
  }
  const single = metrics.singleMetric();
  single.addDimensions(labels);
  single.addMetric(name, POWERTOOLS_UNITS[unit], value);
}

// core logs and counts through its ports; in a function they are Powertools', so core's
// lines come out as the function's JSON lines, with the request's ids on each.
configureLogging((level, message, fields) => {
  logger[level](message, fields);
});
addMetricsSink({
  count: (name, value, labels) => {
    emit(name, value, 'count', labels);
  },
  observe: (name, value, unit, labels) => {
    emit(name, value, unit, labels);
  },
  gauge: (name, value, unit, labels) => {
    emit(name, value, unit, labels);
  },
});
