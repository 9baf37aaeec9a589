import type { MetricLabels, MetricsSink, MetricUnit } from '../../core/observability';

interface Series {
  labels: MetricLabels;
  value: number;
  count: number;
  sum: number;
}

type Kind = 'counter' | 'summary' | 'gauge';

/** `AppendLatency` in milliseconds is `append_latency_milliseconds`; counters end in `_total`. */
function prometheusName(name: string, unit: MetricUnit, kind: Kind): string {
  const base = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  if (kind === 'counter') return `${base}_total`;
  return unit === 'count' || base.endsWith(`_${unit}`) ? base : `${base}_${unit}`;
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelText = (labels: MetricLabels) => {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '' : `{${entries.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(',')}}`;
};

/**
 * core's figures kept in this process and served as Prometheus text at the dev
 * server's `GET /metrics`: counters summed, observations as summaries (count
 * and sum), gauges as last set. No AWS needed to read them.
 */
export class PrometheusRegistry implements MetricsSink {
  private readonly families = new Map<string, { kind: Kind; series: Map<string, Series> }>();

  private series(name: string, kind: Kind, labels: MetricLabels): Series {
    let family = this.families.get(name);
    if (!family) {
      family = { kind, series: new Map() };
      this.families.set(name, family);
    }
    const key = labelText(labels);
    let series = family.series.get(key);
    if (!series) {
      series = { labels, value: 0, count: 0, sum: 0 };
      family.series.set(key, series);
    }
    return series;
  }

  count(name: string, value: number, labels: MetricLabels): void {
    this.series(prometheusName(name, 'count', 'counter'), 'counter', labels).value += value;
  }

  observe(name: string, value: number, unit: MetricUnit, labels: MetricLabels): void {
    const series = this.series(prometheusName(name, unit, 'summary'), 'summary', labels);
    series.count += 1;
    series.sum += value;
  }

  gauge(name: string, value: number, unit: MetricUnit, labels: MetricLabels): void {
    this.series(prometheusName(name, unit, 'gauge'), 'gauge', labels).value = value;
  }

  /** The text exposition format, version 0.0.4. */
  render(): string {
    const lines: string[] = [];
    for (const [name, family] of [...this.families].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`# TYPE ${name} ${family.kind}`);
      for (const series of family.series.values()) {
        if (family.kind === 'summary') {
          lines.push(`${name}_count${labelText(series.labels)} ${String(series.count)}`, `${name}_sum${labelText(series.labels)} ${String(series.sum)}`);
        } else {
          lines.push(`${name}${labelText(series.labels)} ${String(series.value)}`);
        }
      }
    }
    return `${lines.join('\n')}\n`;
  }
}
