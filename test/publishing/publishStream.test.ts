import { jetstreamManager, JetStreamApiCodes, JetStreamApiError, RetentionPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { listParkedMessages, PublisherConfigurationError, type Publisher } from '../../core/publishing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { connectNats } from '../support/natsTesting';
import { slowJetStreamApi } from '../support/slowJetStreamApi';
import { messagesOf, publishEverything, startPublishingHarness, type PublishingHarness } from './publishingHarness';

const opened_: PublishingHarness[] = [];
afterEach(async () => {
  for (const harness of opened_.splice(0).reverse()) await harness.close();
});

async function harness(): Promise<PublishingHarness> {
  const started = await startPublishingHarness();
  opened_.push(started);
  return started;
}

async function appendAccount(h: PublishingHarness, events: AccountEvent[]): Promise<string> {
  const streamId = uniqueStreamId();
  await h.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events });
  return streamId;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const versionsOf = async (h: PublishingHarness, streamId: string) =>
  (await messagesOf(h, [streamId])).map((message) => Number(message.header.get('Stream-Version')));

// A stream JetStream refused to make stores nothing.
const storedVersionsOf = (h: PublishingHarness, streamId: string) =>
  versionsOf(h, streamId).catch((error: unknown) => {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return [];
    throw error;
  });

/** Two runs fail with PublisherConfigurationError and a third names the cause; none published the stream's event. */
async function expectEveryRunRefused(h: PublishingHarness, publisher: Publisher, cause: RegExp, streamId: string): Promise<void> {
  for (let run = 0; run < 2; run++) {
    await expect(publisher.run({ deadline: Date.now() + 5_000 })).rejects.toThrow(PublisherConfigurationError);
  }
  await expect(publisher.run({ deadline: Date.now() + 5_000 })).rejects.toThrow(cause);
  expect(await storedVersionsOf(h, streamId)).toEqual([]);
}

describe("the publisher's own stream", () => {
  it('takes subjects a wildcard of the stream already covers, whether the stream was made beforehand or by the publisher', async () => {
    const h = await harness();
    // Subjects for the events and, under the same prefix, for integration messages.
    const subjects = [`${h.subjectPrefix}.>`, `${h.subjectPrefix}.notices.large`];
    const streamId = await appendAccount(h, [opened()]);
    const made = await publishEverything(h.db, h.publisher({ stream: { name: h.streamName, subjects } }));
    expect(made).toMatchObject({ published: 1, retried: 0 });
    expect(await versionsOf(h, streamId)).toEqual([1]);
    const jsm = await jetstreamManager(h.nc);
    expect((await jsm.streams.info(h.streamName)).config.subjects).toEqual([`${h.subjectPrefix}.>`]);

    // Made beforehand by a person, with the wildcard only.
    await jsm.streams.delete(h.streamName);
    await jsm.streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], duplicate_window: 10 * 60 * 1e9 });
    const next = await appendAccount(h, [opened()]);
    const beforehand = await publishEverything(h.db, h.publisher({ stream: { name: h.streamName, subjects } }));
    expect(beforehand).toMatchObject({ published: 1, retried: 0 });
    expect(await versionsOf(h, next)).toEqual([1]);
  });

  it('is made again when it disappears under a connection the publisher keeps open, and nothing is parked', async () => {
    const h = await harness();
    const publisher = h.publisher();
    await appendAccount(h, [opened()]);
    expect(await publishEverything(h.db, publisher)).toMatchObject({ published: 1 });

    // Deleted (or lost with a memory store) while the warm publisher's connection stays open.
    await (await jetstreamManager(h.nc)).streams.delete(h.streamName);
    const streamId = await appendAccount(h, [opened(), deposited(5)]);
    expect(await publishEverything(h.db, publisher)).toMatchObject({ published: 2, parked: 0 });
    expect(await listParkedMessages(h.db)).toEqual([]);
    expect(await versionsOf(h, streamId)).toEqual([1, 2]);
  });

  it('made with a duplicate window in milliseconds that is no whole number of nanoseconds (8.2 minutes, computed), takes it rounded up to the nanosecond, and publishes', async () => {
    const h = await harness();
    const duplicateWindowMs = 8.2 * 60_000;
    const streamId = await appendAccount(h, [opened()]);

    expect(await publishEverything(h.db, h.publisher({ stream: { name: h.streamName, duplicateWindowMs } }))).toMatchObject({ published: 1, retried: 0 });

    expect((await (await jetstreamManager(h.nc)).streams.info(h.streamName)).config.duplicate_window).toBe(492_000_000_000);
    expect(await versionsOf(h, streamId)).toEqual([1]);
  });

  it('made again under a warm publisher with a shorter duplicate window, is widened back by the next run before anything is sent', async () => {
    const h = await harness();
    const publisher = h.publisher({ stream: { name: h.streamName, duplicateWindowMs: 10 * 60_000 } });
    await appendAccount(h, [opened()]);
    expect(await publishEverything(h.db, publisher)).toMatchObject({ published: 1 });

    // A person makes it again with a window of one second, while the publisher's connection stays open:
    // a batch sent again after a lost checkpoint would no longer be dropped as a duplicate.
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.delete(h.streamName);
    await jsm.streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], duplicate_window: nanos(1_000) });
    const streamId = await appendAccount(h, [opened(), deposited(5)]);

    expect(await publishEverything(h.db, publisher)).toMatchObject({ published: 2 });
    expect((await jsm.streams.info(h.streamName)).config.duplicate_window).toBe(nanos(10 * 60_000));
    expect(await versionsOf(h, streamId)).toEqual([1, 2]);
  });
});

describe('a stream made beforehand that cannot take the duplicate window', () => {
  it('given a max_age shorter than the window, every run fails with PublisherConfigurationError, publishing nothing, instead of retrying as if NATS were away', async () => {
    const h = await harness();
    // JetStream refuses a duplicate window longer than the stream keeps messages.
    await (await jetstreamManager(h.nc)).streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_age: nanos(5 * 60_000) });
    const streamId = await appendAccount(h, [opened()]);
    // Read by the first run, whatever other files' transactions hold the feed's horizon back: only a batch to publish connects.
    await untilFeedHorizonPasses(h.db);
    const publisher = h.publisher({ stream: { name: h.streamName, duplicateWindowMs: 10 * 60_000 } });
    await expectEveryRunRefused(h, publisher, /max_age/, streamId);
  });

  it('given an integration message waiting beside the event, both sources refused alike, every run fails with the one PublisherConfigurationError, told once', async () => {
    const h = await harness();
    await (await jetstreamManager(h.nc)).streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_age: nanos(5 * 60_000) });
    const streamId = await appendAccount(h, [opened()]);
    await h.db.query(`INSERT INTO outbox (message_id, ordering_key, subject, payload, headers) VALUES (gen_random_uuid(), 'key', $1, '{}', '{}')`, [`${h.subjectPrefix}.notices.one`]);
    await untilFeedHorizonPasses(h.db);
    const publisher = h.publisher({ stream: { name: h.streamName, duplicateWindowMs: 10 * 60_000 } });

    const failed = await publisher.run({ deadline: Date.now() + 5_000 }).then(() => null, (error: unknown) => error);

    expect(failed).toBeInstanceOf(PublisherConfigurationError);
    expect(String(failed).match(/keeps messages for/g)).toHaveLength(1);
    expect(await storedVersionsOf(h, streamId)).toEqual([]);
  });
});

describe('a stream made beforehand that acknowledges no publish (no_ack)', () => {
  it('fails every run with PublisherConfigurationError, publishing nothing, instead of retrying each message for ever', async () => {
    const h = await harness();
    await (await jetstreamManager(h.nc)).streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], no_ack: true, duplicate_window: nanos(10 * 60_000) });
    const streamId = await appendAccount(h, [opened()]);
    await untilFeedHorizonPasses(h.db);
    const publisher = h.publisher({ stream: { name: h.streamName, duplicateWindowMs: 10 * 60_000 }, publishTimeoutMs: 500 });

    await expectEveryRunRefused(h, publisher, /no_ack/, streamId);
  });
});

/** Runs `work` with another stream, capturing subjects of its own, for the publisher's stream to be made from; deleted afterwards. */
async function withOriginStream(h: PublishingHarness, work: (origin: string) => Promise<void>): Promise<void> {
  const jsm = await jetstreamManager(h.nc);
  const origin = `${h.streamName}_ORIGIN`;
  await jsm.streams.add({ name: origin, subjects: [`${h.subjectPrefix}_origin.>`] });
  try {
    await work(origin);
  } finally {
    await jsm.streams.delete(origin);
  }
}

describe('a stream made beforehand as a mirror of another', () => {
  it('fails every run with PublisherConfigurationError naming the mirror, publishing nothing, instead of retrying as if NATS were away', async () => {
    const h = await harness();
    await withOriginStream(h, async (origin) => {
      // A mirror takes no subjects and no publishes of its own: only what its origin stores.
      await (await jetstreamManager(h.nc)).streams.add({ name: h.streamName, mirror: { name: origin } });
      const streamId = await appendAccount(h, [opened()]);
      await untilFeedHorizonPasses(h.db);
      const publisher = h.publisher({ stream: { name: h.streamName }, publishTimeoutMs: 500 });

      await expectEveryRunRefused(h, publisher, /mirror/, streamId);
    });
  });
});

describe('a stream made beforehand that drops its messages once consumed', () => {
  it('with work-queue or interest retention, fails every run with PublisherConfigurationError naming the retention, publishing nothing: after a NATS restart such a stream would store a retried message twice', async () => {
    for (const retention of [RetentionPolicy.Workqueue, RetentionPolicy.Interest]) {
      const h = await harness();
      await (await jetstreamManager(h.nc)).streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], retention });
      const streamId = await appendAccount(h, [opened()]);
      await untilFeedHorizonPasses(h.db);

      await expectEveryRunRefused(h, h.publisher({ stream: { name: h.streamName } }), new RegExp(`${retention} retention.*stored twice`), streamId);
    }
  });
});

describe('subjects JetStream refuses for the stream', () => {
  it('given one another stream captures, every run fails with PublisherConfigurationError naming that stream, publishing nothing, instead of retrying as if NATS were away', async () => {
    const h = await harness();
    await withOriginStream(h, async (origin) => {
      const streamId = await appendAccount(h, [opened()]);
      await untilFeedHorizonPasses(h.db);
      // The service's integration subjects, one of which another team's stream already captures.
      const publisher = h.publisher({ stream: { name: h.streamName, subjects: [`${h.subjectPrefix}.>`, `${h.subjectPrefix}_origin.orders`] } });

      await expectEveryRunRefused(h, publisher, new RegExp(`overlap.*${origin}`), streamId);
    });
  });

  it('given one another stream captures, with a JetStream API slow to answer, every run still fails with PublisherConfigurationError: naming that stream waits only for what is left of the check\'s time', async () => {
    const h = await harness();
    await withOriginStream(h, async () => {
      const streamId = await appendAccount(h, [opened()]);
      await untilFeedHorizonPasses(h.db);
      // The check's first three requests (the stream's info, its creation, a look for the streams capturing its subjects) answered within its 3 s; a fourth would not be.
      const publisher = h.publisher({
        stream: { name: h.streamName, subjects: [`${h.subjectPrefix}.>`, `${h.subjectPrefix}_origin.orders`] },
        publishTimeoutMs: 3_000,
        connect: async () => slowJetStreamApi(await connectNats(), () => 800),
      });

      await expectEveryRunRefused(h, publisher, /overlap/, streamId);
    });
  }, 30_000);

  it('given two that overlap without one covering the other, every run fails with PublisherConfigurationError naming them', async () => {
    const h = await harness();
    const streamId = await appendAccount(h, [opened()]);
    await untilFeedHorizonPasses(h.db);
    const [wildFirst, wildLast] = [`${h.subjectPrefix}_x.*.c`, `${h.subjectPrefix}_x.b.*`];
    const publisher = h.publisher({ stream: { name: h.streamName, subjects: [`${h.subjectPrefix}.>`, wildFirst, wildLast] } });

    await expectEveryRunRefused(h, publisher, new RegExp(`${escapeRegExp(wildFirst)}.*overlaps.*${escapeRegExp(wildLast)}`), streamId);
  });
});

describe('a stream made beforehand with sources and no subjects of its own', () => {
  it('is given the publisher\'s subjects, keeping its sources, and the events go out', async () => {
    const h = await harness();
    await withOriginStream(h, async (origin) => {
      const jsm = await jetstreamManager(h.nc);
      await jsm.streams.add({ name: h.streamName, sources: [{ name: origin }] });
      const streamId = await appendAccount(h, [opened(), deposited(5)]);

      const report = await publishEverything(h.db, h.publisher({ stream: { name: h.streamName } }));

      expect(report).toMatchObject({ published: 2, parked: 0 });
      expect(await versionsOf(h, streamId)).toEqual([1, 2]);
      const { config } = await jsm.streams.info(h.streamName);
      expect(config.subjects).toEqual([`${h.subjectPrefix}.>`]);
      expect(config.sources?.map((source) => source.name)).toEqual([origin]);
    });
  });
});
