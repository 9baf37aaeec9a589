import { jetstream, jetstreamManager, DiscardPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLogging } from '../../core/observability';
import { readPublishingStatus } from '../../core/publishing';
import { getRuntime } from '../../functions/runtime';
import { handler as publish } from '../../functions/publisher';
import { lambdaContext } from '../support/apiGatewayEvent';
import { postCommandRequest } from '../support/commandHttp';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { connectNats, deleteJetStream, NATS_URL, readStoredMessages, uniqueJetStream } from '../support/natsTesting';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';

const jetStream = uniqueJetStream();
const lines: { level: string; message: string }[] = [];
configureLogging((level, message) => {
  lines.push({ level, message });
});

useAppOnTestDatabase({
  env: { NATS_URL, PUBLISH_STREAM: jetStream.name, PUBLISH_SUBJECT_PREFIX: jetStream.prefix, NUDGE_FUNCTIONS: undefined },
});

beforeAll(async () => {
  const nc = await connectNats();
  const jsm = await jetstreamManager(nc);
  // Full, with discard new: the first tries are refused for a while (10077, retried), until it is purged.
  await jsm.streams.add({ name: jetStream.name, subjects: [`${jetStream.prefix}.>`], max_msgs: 1, discard: DiscardPolicy.New, duplicate_window: nanos(600_000) });
  await jetstream(nc).publish(`${jetStream.prefix}.filler`, 'x');
  await nc.close();
});

afterAll(async () => {
  const nc = await connectNats();
  await deleteJetStream(nc, jetStream.name);
  await nc.close();
});

describe('the publisher function’s log line', () => {
  it('given a run that was refused for a while (a full stream, then purged) and then published everything, says published, not that messages wait', async () => {
    expect((await postCommandRequest('OpenAccount', { accountId: 'acc-log', owner: 'Ada', currency: 'EUR' })).statusCode).toBe(200);
    const { db } = await getRuntime();
    await untilFeedHorizonPasses(db);
    const purge = setTimeout(() => {
      void (async () => {
        const nc = await connectNats();
        await (await jetstreamManager(nc)).streams.purge(jetStream.name);
        await nc.close();
      })();
    }, 1_000);
    lines.length = 0;
    await publish({}, lambdaContext());
    clearTimeout(purge);

    const status = await readPublishingStatus(db);
    const nc = await connectNats();
    const stored = await readStoredMessages(nc, jetStream.name);
    await nc.close();
    const logged = lines.filter((line) => /NATS|published|parked/.test(line.message));
    // Everything went out in this run: nothing waits, and the log says so.
    expect(status.events.backlog).toBe(0);
    expect(stored.map((message) => message.subject)).toEqual([`${jetStream.prefix}.account.AccountOpened`]);
    expect(logged.at(-1)).toEqual({ level: 'info', message: 'published' });
  }, 30_000);
});
