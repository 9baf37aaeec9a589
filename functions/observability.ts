import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';

// One instance each per Lambda container, shared by every handler in it.
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'service';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'ServerlessEventSourcing' });

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
