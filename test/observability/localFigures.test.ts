import { describe, expect, it } from 'vitest';
import { PrometheusRegistry, readableLog } from '../../functions/local';

describe("the dev server's figures and log lines", () => {
  it('serves counters, summaries and gauges as Prometheus text, named in snake case with their unit', () => {
    const registry = new PrometheusRegistry();
    registry.count('Commands', 1, { commandType: 'Deposit', outcome: 'succeeded' });
    registry.count('Commands', 2, { commandType: 'Deposit', outcome: 'succeeded' });
    registry.observe('AppendLatency', 3.5, 'milliseconds', { streamType: 'account' });
    registry.observe('AppendLatency', 1.5, 'milliseconds', { streamType: 'account' });
    registry.gauge('ProjectionLagSeconds', 4, 'seconds', { projection: 'a"b' });
    registry.gauge('ProjectionLagSeconds', 2, 'seconds', { projection: 'a"b' });
    expect(registry.render().split('\n')).toEqual([
      '# TYPE append_latency_milliseconds summary',
      'append_latency_milliseconds_count{streamType="account"} 2',
      'append_latency_milliseconds_sum{streamType="account"} 5',
      '# TYPE commands_total counter',
      'commands_total{commandType="Deposit",outcome="succeeded"} 3',
      '# TYPE projection_lag_seconds gauge',
      'projection_lag_seconds{projection="a\\"b"} 2',
      '',
    ]);
  });

  it('prints a line a person reads: time, level, message, the ids in brackets, the other fields', () => {
    const lines: string[] = [];
    readableLog((line) => lines.push(line))('info', 'command done', { correlationId: 'c-1', commandId: 'k-1', traceId: 't-1', spanId: 's-1', version: 2 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d\d\d INFO {2}command done \[corr=c-1 cmd=k-1 trace=t-1\] \{"version":2\}$/);
  });
});
