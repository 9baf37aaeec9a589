import { afterAll, describe, expect, it } from 'vitest';
import { bankCommands } from '../../core/bank';
import type { Db } from '../../core/db';
import { createEventStore } from '../../core/eventstore';
import { publishingConfigFromEnv } from '../../core/publishing';
import { createServicePublisher, defineService } from '../../core/service';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, uniqueStreamId } from '../support/fixtures';
import { connectNats, deleteJetStream, readStoredMessages, uniqueJetStream } from '../support/natsTesting';
import { usePrivateNatsServer } from '../support/privateNatsServer';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const nats = usePrivateNatsServer();
const db = usePooledTestDatabase(4);
const jetStream = uniqueJetStream();

afterAll(async () => {
  const nc = await connectNats({ servers: nats().url });
  await deleteJetStream(nc, jetStream.name);
  await nc.close();
});

const PAGE_READS = new Set(['publisher_event_page', 'publisher_outbox_page']);

/** The pool, noting the page size of every page the publisher reads. */
function notingPageSizes(pool: Db): { db: Db; pageSizes: unknown[] } {
  const pageSizes: unknown[] = [];
  const noted: Db = {
    query: (text, params, options) => {
      if (options?.name !== undefined && PAGE_READS.has(options.name)) pageSizes.push(params?.[2]);
      return pool.query(text, params, options);
    },
    transaction: (work) => pool.transaction(work),
    close: () => pool.close(),
  };
  return { db: noted, pageSizes };
}

describe('the deployed publisher’s page size (PUBLISH_BATCH_SIZE)', () => {
  it('reads every page of events and of integration messages at that size, and publishes all of them all the same', async () => {
    const service = defineService({ name: 'bank', commands: bankCommands });
    const streamId = uniqueStreamId();
    const { events } = await createEventStore(db()).appendToStream({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened(), deposited(1), deposited(2), deposited(3), deposited(4)],
      messages: [1, 2, 3].map((n) => ({ subject: `${jetStream.prefix}.notice`, orderingKey: streamId, body: { n } })),
    });
    await untilFeedHorizonPasses(db());
    const config = publishingConfigFromEnv({ PUBLISH_STREAM: jetStream.name, PUBLISH_SUBJECT_PREFIX: jetStream.prefix, PUBLISH_PARTITIONS: '1', PUBLISH_BATCH_SIZE: '2' });
    const { db: noted, pageSizes } = notingPageSizes(db());
    const publisher = createServicePublisher({ db: noted, service }, { ...config, NATS_URL: nats().url });
    try {
      await publisher.run({ deadline: Date.now() + 20_000 });
    } finally {
      await publisher.close();
    }

    // Five events and three messages: at least three pages and two. (A look for work past a
    // caught-up partition reads a page of one.)
    expect(pageSizes.filter((size) => size === 2).length).toBeGreaterThanOrEqual(5);
    expect(pageSizes.every((size) => size === 1 || size === 2)).toBe(true);
    const nc = await connectNats({ servers: nats().url });
    try {
      const stored = await readStoredMessages(nc, jetStream.name);
      const ids = stored.map((message) => message.header.get('Nats-Msg-Id'));
      expect(ids).toEqual(expect.arrayContaining(events.map((event) => event.eventId)));
      const bodies = stored.filter((message) => message.subject === `${jetStream.prefix}.notice`).map((message) => message.json<{ n: number }>().n);
      expect(bodies).toEqual([1, 2, 3]);
    } finally {
      await nc.close();
    }
  });
});
