import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineAccountSummaries } from '../../core/bank';
import { ProjectorRunError, registerProjection } from '../../core/projections';
import { getRuntime } from '../../functions/runtime';
import { lambdaContext } from '../support/apiGatewayEvent';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';
import { untilFeedHorizonPasses } from '../support/feedHorizon';

// Powertools reads whether metrics are on when a Metrics is made, so the
// function is imported (below, in the specs) only after this.
process.env.POWERTOOLS_METRICS_DISABLED = 'false';
process.env.POWERTOOLS_SERVICE_NAME = 'bank-projector-spec';

useAppOnTestDatabase({ env: { NATS_URL: undefined, NUDGE_FUNCTIONS: undefined } });

/** The EMF lines the function writes to stdout, parsed. */
let written: Record<string, unknown>[] = [];
beforeEach(() => {
  written = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
    const lines = text.split('\n').filter((line) => line.startsWith('{"_aws"'));
    if (lines.length === 0) return write(chunk, ...(rest as []));
    for (const line of lines) written.push(JSON.parse(line) as Record<string, unknown>);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const figures = (name: string, labels: Record<string, string> = {}) =>
  written.filter((line) => name in line && Object.entries(labels).every(([key, value]) => line[key] === value)).flatMap((line) => [line[name]].flat().map(Number));

describe('the projector function', () => {
  it('given one projection that cannot run (registered by an earlier deploy with other partitions), when it runs, then it fails naming that projection, after reporting what the others applied and every projection’s lag', async () => {
    const { db, bus } = await getRuntime();
    await registerProjection(db, defineAccountSummaries({ partitions: 2 }));
    await bus.execute({ type: 'OpenAccount', payload: { accountId: 'acc-p1', owner: 'Ada', currency: 'EUR' } });
    await bus.execute({ type: 'Deposit', payload: { accountId: 'acc-p1', amount: 100 } });
    await untilFeedHorizonPasses(db);
    const { handler } = await import('../../functions/projector');

    const failure = await handler({}, lambdaContext('projector')).then(() => undefined, (error: unknown) => error);

    expect(failure).toBeInstanceOf(ProjectorRunError);
    expect((failure as ProjectorRunError).message).toMatch(/^1 of 2 failed, the others ran: account_summaries: .*partitions/);
    // The statements took both events; the summaries applied none.
    expect(figures('ProjectionEventsApplied')).toEqual([2]);
    expect(figures('ProjectionLagEvents', { projection: 'account_statements' }).reduce((sum, lag) => sum + lag, 0)).toBe(0);
    expect(figures('ProjectionLagEvents', { projection: 'account_summaries' }).reduce((sum, lag) => sum + lag, 0)).toBe(2);
  });
});
