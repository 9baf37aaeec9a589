import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankCommands } from '../../core/bank';
import { createEventStore } from '../../core/eventstore';
import { publishingConfigFromEnv } from '../../core/publishing';
import { createServicePublisher, defineService } from '../../core/service';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, uniqueStreamId } from '../support/fixtures';
import { connectNats, readStoredMessages, uniqueJetStream } from '../support/natsTesting';
import { startPrivateNatsServer, type PrivateNatsServer } from '../support/privateNatsServer';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(2);
let nats: PrivateNatsServer;
beforeAll(async () => {
  nats = await startPrivateNatsServer({
    settings: 'authorization { users = [ { user: publisher, password: "s@cret:1" } ] }',
  });
});
afterAll(async () => {
  await nats.close();
});

describe('a NATS_URL carrying credentials', () => {
  it('connects the publisher as that user: the events reach a server that admits no one else', async () => {
    const service = defineService({ name: 'bank', commands: bankCommands });
    const jetStream = uniqueJetStream();
    const streamId = uniqueStreamId();
    await createEventStore(db()).appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db());
    const config = publishingConfigFromEnv({
      NATS_URL: `nats://publisher:${encodeURIComponent('s@cret:1')}@localhost:${nats.port}`,
      PUBLISH_STREAM: jetStream.name,
      PUBLISH_SUBJECT_PREFIX: jetStream.prefix,
    });
    const publisher = createServicePublisher({ db: db(), service }, { ...config, NATS_URL: config.NATS_URL ?? '' });
    try {
      expect(await publisher.run({ deadline: Date.now() + 10_000 })).toMatchObject({ published: 1, caughtUp: true, lastError: null });
    } finally {
      await publisher.close();
    }

    await expect(connectNats({ servers: nats.url })).rejects.toThrow(/Authorization/i);
    const nc = await connectNats({ servers: nats.url, user: 'publisher', pass: 's@cret:1' });
    try {
      const stored = await readStoredMessages(nc, jetStream.name);
      expect(stored.map((message) => message.header.get('Stream-Id'))).toEqual([streamId]);
    } finally {
      await nc.close();
    }
  });
});
