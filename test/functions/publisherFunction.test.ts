import { createServer, type AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { getCommandStatus } from '../../core/commands';
import { configureLogging } from '../../core/observability';
import { readPublishingStatus } from '../../core/publishing';
import { createServicePublisher } from '../../core/service';
import { getRuntime } from '../../functions/runtime';
import { handler as publish } from '../../functions/publisher';
import { lambdaContext } from '../support/apiGatewayEvent';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { postCommandRequest } from '../support/commandHttp';
import { connectNats, deleteJetStream, readStoredMessages, uniqueJetStream } from '../support/natsTesting';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';
import { usePrivateNatsServer } from '../support/privateNatsServer';

const jetStream = uniqueJetStream();

const errors: string[] = [];
configureLogging((level, message) => {
  if (level === 'error') errors.push(message);
});

const nats = usePrivateNatsServer();
useAppOnTestDatabase({
  env: () => ({ NATS_URL: nats().url, PUBLISH_STREAM: jetStream.name, PUBLISH_SUBJECT_PREFIX: jetStream.prefix, NUDGE_FUNCTIONS: undefined }),
});

afterAll(async () => {
  const nc = await connectNats({ servers: nats().url });
  await deleteJetStream(nc, jetStream.name);
  await nc.close();
});

async function storedCount(): Promise<number> {
  const nc = await connectNats({ servers: nats().url });
  try {
    return (await readStoredMessages(nc, jetStream.name).catch(() => [])).length;
  } finally {
    await nc.close();
  }
}

describe('the publisher function', () => {
  it('given commands through the HTTP function, publishes their events to JetStream and leaves no backlog', async () => {
    const nudged: string[] = [];
    (await getRuntime()).nudges.onNudge(() => nudged.push('nudge'));
    expect((await postCommandRequest('OpenAccount', { accountId: 'acc-1', owner: 'Ada', currency: 'EUR' })).statusCode).toBe(200);
    expect((await postCommandRequest('Deposit', { accountId: 'acc-1', amount: 250 }, { 'idempotency-key': 'dep-1' })).statusCode).toBe(200);
    // A replay commits nothing, so it nudges nothing.
    expect((await postCommandRequest('Deposit', { accountId: 'acc-1', amount: 250 }, { 'idempotency-key': 'dep-1' })).statusCode).toBe(200);
    expect(nudged).toEqual(['nudge', 'nudge']);

    const { db } = await getRuntime();
    // Usually one invocation; more while other test files' open transactions hold the snapshot horizon back.
    const published = async () => (await getCommandStatus(db, 'dep-1')) !== undefined && (await storedCount()) === 2;
    for (let invocation = 0; invocation < 200 && !(await published()); invocation++) {
      await publish({}, lambdaContext());
    }
    expect(await readPublishingStatus(db)).toMatchObject({ events: { backlog: 0, oldestAgeSeconds: 0 }, outbox: { backlog: 0 }, parked: 0 });

    const nc = await connectNats({ servers: nats().url });
    try {
      const messages = await readStoredMessages(nc, jetStream.name);
      expect(messages.map((message) => [message.subject, message.header.get('Stream-Version')])).toEqual([
        [`${jetStream.prefix}.account.AccountOpened`, '1'],
        [`${jetStream.prefix}.account.MoneyDeposited`, '2'],
      ]);
      expect(messages[1]?.header.get('Command-Id')).toBe('dep-1');
      expect(messages[1]?.json()).toMatchObject({ streamId: expect.stringContaining('acc-1') as string, data: { amount: 250 } });
    } finally {
      await nc.close();
    }
  });

  it('keeps within its deadline when NATS takes the connection but never answers', async () => {
    const runtime = await getRuntime();
    await postCommandRequest('Deposit', { accountId: 'acc-1', amount: 5 });
    // Another file's open transaction must not leave the publisher nothing to send.
    await untilFeedHorizonPasses(runtime.db);
    // A port that accepts and stays silent: the client's own connect timeout would be 20 s.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const publisher = createServicePublisher(runtime, { ...runtime.publishing, NATS_URL: `nats://127.0.0.1:${(silent.address() as AddressInfo).port}` });
    try {
      const started = Date.now();
      const report = await publisher.run({ deadline: started + 1_000 });
      expect(report.published).toBe(0);
      expect(report.retried).toBeGreaterThan(0);
      // At most one connection attempt past the deadline: within the function's safety margin.
      expect(Date.now() - started).toBeLessThan(12_000);
    } finally {
      await publisher.close();
      silent.close();
    }
  });

  it('logs an error on every run while a message stays parked, not only on the run that parked it', async () => {
    const { db } = await getRuntime();
    await db.query(
      `INSERT INTO parked_messages (message_id, source, ordering_key, subject, error) VALUES (gen_random_uuid(), 'outbox', 'key-1', 'nowhere.notices', 'no responders')`,
    );
    errors.length = 0;
    await publish({}, lambdaContext());
    await publish({}, lambdaContext());
    expect(errors).toEqual(['messages refused by NATS for good are parked', 'messages refused by NATS for good are parked']);
  });
});
