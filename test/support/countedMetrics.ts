import { addMetricsSink } from '../../core/observability';

/** What core counts to the metrics from now on, by name; `stop` ends the counting. */
export function countedMetrics(): { counted: Record<string, number>; stop: () => void } {
  const counted: Record<string, number> = {};
  const stop = addMetricsSink({ count: (name, value) => void (counted[name] = (counted[name] ?? 0) + value), observe: () => undefined, gauge: () => undefined });
  return { counted, stop };
}
