import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { metrics as coreMetrics } from '../../core/observability';
import { readPublishingStatus } from '../../core/publishing';
import { getRuntime } from '../../functions/runtime';
import { lambdaContext } from '../support/apiGatewayEvent';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';
import { usePrivateNatsServer } from '../support/privateNatsServer';
import { connectNats, deleteJetStream, uniqueJetStream } from '../support/natsTesting';

// Powertools reads whether metrics are on when a Metrics is made, so the
// functions are imported (below, in the specs) only after this.
process.env.POWERTOOLS_METRICS_DISABLED = 'false';
process.env.POWERTOOLS_SERVICE_NAME = 'bank-metrics-spec';

const jetStream = uniqueJetStream();
const nats = usePrivateNatsServer();
useAppOnTestDatabase({
  env: () => ({ NATS_URL: nats().url, PUBLISH_STREAM: jetStream.name, PUBLISH_SUBJECT_PREFIX: jetStream.prefix, NUDGE_FUNCTIONS: undefined }),
});

afterAll(async () => {
  const nc = await connectNats({ servers: nats().url });
  await deleteJetStream(nc, jetStream.name);
  await nc.close();
});

const emfLine = z.looseObject({
  _aws: z.object({ CloudWatchMetrics: z.array(z.object({ Dimensions: z.array(z.array(z.string())), Metrics: z.array(z.object({ Name: z.string() })) })) }),
});
type EmfLine = z.infer<typeof emfLine>;

/** The EMF lines the functions write to stdout (kept from the test's output), and Powertools' warnings. */
let written: EmfLine[] = [];
let warnings: string[] = [];
beforeEach(() => {
  written = [];
  warnings = [];
  const warn = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
    if (text.includes('metrics')) warnings.push(text);
    return warn(chunk, ...(rest as []));
  });
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
    const lines = text.split('\n').filter((line) => line.startsWith('{"_aws"'));
    if (lines.length === 0) return write(chunk, ...(rest as []));
    for (const line of lines) written.push(emfLine.parse(JSON.parse(line)));
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const dimensionsOf = (line: EmfLine) => line._aws.CloudWatchMetrics[0]?.Dimensions;
const linesOf = (name: string, dimensions: string[]) =>
  written.filter((line) => name in line && JSON.stringify(dimensionsOf(line)) === JSON.stringify([dimensions]));
const valuesOf = (line: EmfLine, name: string): number[] => [line[name]].flat().map(Number);

describe("the functions' metrics", () => {
  it('given a command through the command route, writes each labelled figure under its labels when the invocation ends, and no warning', async () => {
    const { postCommandRequest } = await import('../support/commandHttp');
    expect((await postCommandRequest('OpenAccount', { accountId: 'acc-m1', owner: 'Ada', currency: 'EUR' })).statusCode).toBe(200);

    const commands = linesOf('Commands', ['service', 'commandType', 'outcome']);
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatchObject({ service: 'bank-metrics-spec', commandType: 'OpenAccount', outcome: 'succeeded', Commands: 1 });
    expect(linesOf('CommandLatency', ['service', 'commandType'])).toHaveLength(1);
    expect(linesOf('AppendLatency', ['service', 'streamType'])[0]).toMatchObject({ streamType: 'account' });
    // Its own set is empty, and not published: no warning that it is.
    expect(warnings).toEqual([]);
  });

  it('given 250 events, the publisher function counts them in a few EMF lines, not one a message', async () => {
    const { store, db } = await getRuntime();
    for (let stream = 0; stream < 5; stream++) {
      const events = Array.from({ length: 50 }, (_, index) => ({ type: 'MoneyDeposited', data: { amount: index + 1 } }));
      await store.appendToStream({ streamId: `account-m${stream}`, streamType: 'account', expectedVersion: 'no_stream', events });
    }
    const { handler: publish } = await import('../../functions/publisher');
    let invocations = 0;
    // Usually one invocation; more while other files' open transactions hold the feed's horizon back.
    do {
      await publish({}, lambdaContext());
      invocations++;
    } while ((await readPublishingStatus(db)).events.backlog > 0 && invocations < 200);

    // The other specs' events are in the feed too.
    const { rows } = await db.query<{ events: number }>('SELECT count(*)::int AS events FROM events');
    const stored = rows[0]?.events ?? 0;
    expect(stored).toBeGreaterThanOrEqual(250);
    const counted = linesOf('PublishedMessages', ['service', 'duplicate']);
    expect(counted.flatMap((line) => valuesOf(line, 'PublishedMessages')).reduce((sum, value) => sum + value, 0)).toBe(stored);
    expect(counted.every((line) => line.duplicate === 'false')).toBe(true);
    // A set writes itself at 100 values, and once more when each invocation ends.
    expect(counted.length).toBeLessThanOrEqual(Math.ceil(stored / 100) + invocations);
  });

  it('given a handler that fails after counting, still writes its labelled figures', async () => {
    const { lambdaEntry } = await import('../../functions/lambdaEntry');
    const failing = lambdaEntry(async () => {
      coreMetrics.count('CommandRetries', 1, { reason: 'spec' });
      await Promise.resolve();
      throw new Error('handler failed');
    });
    await expect(failing({}, lambdaContext())).rejects.toThrow('handler failed');
    expect(linesOf('CommandRetries', ['service', 'reason'])[0]).toMatchObject({ reason: 'spec', CommandRetries: 1 });
  });
});
