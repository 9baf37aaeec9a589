export type MetricUnit = 'count' | 'milliseconds' | 'seconds';
export type MetricLabels = Record<string, string>;

/**
 * A figure, as core reports it: a counter to add to, or an observation (a
 * latency) to record, or a gauge (a lag, a backlog) to set. Functions bind
 * Powertools Metrics (EMF); the dev server keeps them for `GET /metrics`.
 */
export interface MetricsSink {
  count(name: string, value: number, labels: MetricLabels): void;
  observe(name: string, value: number, unit: MetricUnit, labels: MetricLabels): void;
  gauge(name: string, value: number, unit: MetricUnit, labels: MetricLabels): void;
}

const sinks: MetricsSink[] = [];

/** Adds a sink; returns what removes it. */
export function addMetricsSink(sink: MetricsSink): () => void {
  sinks.push(sink);
  return () => {
    const index = sinks.indexOf(sink);
    if (index >= 0) sinks.splice(index, 1);
  };
}

/** core's metrics: the names are the ones the README lists. */
export const metrics = {
  count(name: string, value = 1, labels: MetricLabels = {}): void {
    for (const sink of sinks) sink.count(name, value, labels);
  },
  observe(name: string, value: number, unit: MetricUnit, labels: MetricLabels = {}): void {
    for (const sink of sinks) sink.observe(name, value, unit, labels);
  },
  gauge(name: string, value: number, unit: MetricUnit, labels: MetricLabels = {}): void {
    for (const sink of sinks) sink.gauge(name, value, unit, labels);
  },
};
