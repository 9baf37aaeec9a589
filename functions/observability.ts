import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { addMetricsSink, configureLogging } from '../core/observability';
import { labelledMetrics } from './labelledMetrics';

// One instance each per Lambda container, shared by every handler in it.
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'service';

const namespace = process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'ServerlessEventSourcing';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ serviceName, namespace });

/**
 * Whether X-Ray can trace here, by the Tracer's own rules: only in Lambda (not
 * SAM local), unless POWERTOOLS_TRACE_ENABLED is false.
 */
export function tracingPossible(env: Record<string, string | undefined> = process.env): boolean {
  return Boolean(env.AWS_EXECUTION_ENV) && !env.AWS_SAM_LOCAL && env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() !== 'false';
}

/**
 * The tracer, where it can trace. Elsewhere (`npm run dev`, tests, benchmarks)
 * it is not even imported: importing it starts the X-Ray SDK, whose async hooks
 * then tax every promise of the process (about 6% of a command's CPU) for
 * traces that would never be sent.
 */
export const tracer: Tracer | undefined = tracingPossible()
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer({ serviceName })
  : undefined;

const POWERTOOLS_UNITS = { count: MetricUnit.Count, milliseconds: MetricUnit.Milliseconds, seconds: MetricUnit.Seconds } as const;

/** Figures with labels, a metric set per set of labels. */
const labelled = labelledMetrics({ serviceName, namespace });

/**
 * Writes what the invocation counted, as `lambdaEntry` does when the handler
 * ends: its own set, if it holds anything, and the labelled sets. Powertools'
 * logMetrics middleware publishes the invocation's set even when it is empty,
 * which logs a warning ("No application metrics to publish"): on every
 * command, whose figures all have labels.
 */
export function writeInvocationMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  labelled.flush();
}

/** core's figures as EMF: without labels in the invocation's set, with labels in the set of those labels. */
function emit(name: string, value: number, unit: keyof typeof POWERTOOLS_UNITS, labels: Record<string, string>): void {
  if (Object.keys(labels).length === 0) metrics.addMetric(name, POWERTOOLS_UNITS[unit], value);
  else labelled.add(name, POWERTOOLS_UNITS[unit], value, labels);
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
