import { afterAll, describe, expect, it } from 'vitest';
import { bankCommands } from '../../core/bank';
import { createEventStore, type RecordedEvent } from '../../core/eventstore';
import { publishingConfigFromEnv } from '../../core/publishing';
import { createServicePublisher, defineService } from '../../core/service';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, uniqueStreamId } from '../support/fixtures';
import { connectNats, deleteJetStream, readStoredMessages, uniqueJetStream } from '../support/natsTesting';
import { usePrivateNatsServer } from '../support/privateNatsServer';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const nats = usePrivateNatsServer();
const db = usePooledTestDatabase(2);
const jetStream = uniqueJetStream();

afterAll(async () => {
  const nc = await connectNats({ servers: nats().url });
  await deleteJetStream(nc, jetStream.name);
  await nc.close();
});

/** A routing written as a class: its subjectFor lives on the prototype. */
class PrivateAccounts {
  private readonly kept = 'account';
  subjectFor(event: Pick<RecordedEvent, 'streamType'>): string | null | undefined {
    return event.streamType === this.kept ? null : undefined;
  }
}

describe("a service's routing given as a class instance", () => {
  it('keeps the events it makes private off NATS, as the same routing given as an object does', async () => {
    const service = defineService({ name: 'bank', commands: bankCommands, publishing: { routing: new PrivateAccounts() } });
    await createEventStore(db()).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db());
    const config = publishingConfigFromEnv({ PUBLISH_STREAM: jetStream.name, PUBLISH_SUBJECT_PREFIX: jetStream.prefix });
    const publisher = createServicePublisher({ db: db(), service }, { ...config, NATS_URL: nats().url });
    try {
      const report = await publisher.run({ deadline: Date.now() + 10_000 });
      expect(report).toMatchObject({ published: 0, caughtUp: true });
    } finally {
      await publisher.close();
    }
    const nc = await connectNats({ servers: nats().url });
    try {
      expect(await readStoredMessages(nc, jetStream.name).catch(() => [])).toEqual([]);
    } finally {
      await nc.close();
    }
  });
});
