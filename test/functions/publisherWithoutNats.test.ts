import { describe, expect, it } from 'vitest';
import { addMetricsSink, configureLogging } from '../../core/observability';
import { handler as publish } from '../../functions/publisher';
import { lambdaContext } from '../support/apiGatewayEvent';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';

const lines: { level: string; message: string }[] = [];
configureLogging((level, message) => {
  lines.push({ level, message });
});
useAppOnTestDatabase({ env: { NATS_URL: undefined, NUDGE_FUNCTIONS: undefined } });

describe('the publisher function without NATS_URL', () => {
  it('fails every invocation, still reporting the publishing gauges and saying the run failed, so the backlog alarms keep their data', async () => {
    const gauges: string[] = [];
    const stop = addMetricsSink({ count: () => undefined, observe: () => undefined, gauge: (name) => void gauges.push(name) });

    await expect(publish({}, lambdaContext('publisher', 60_000)).finally(stop)).rejects.toThrow(/NATS_URL is not set/);

    expect(gauges).toEqual(expect.arrayContaining(['PublishBacklog', 'ParkedMessages']));
    expect(lines).toEqual([{ level: 'error', message: 'the publisher run failed; what it did not publish waits for the next run' }]);
  }, 60_000);
});
