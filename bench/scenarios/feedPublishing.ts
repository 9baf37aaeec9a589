import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { bankService } from '../../core/bank';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore } from '../../core/eventstore';
import { createPublisher, eventRouting, type PublishMessage } from '../../core/publishing';
import { eventMessagesById } from '../../core/publishing/eventMessages';
import { jetStreamPublishing } from '../../core/publishing/jetStreamPublishing';
import { startThroughput, type Throughput } from '../support/measureThroughput';

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const STREAM = 'BENCH_PUBLISHING';
// Both sides publish through connections set up alike, as functions/publisher.ts sets them up.
const PUBLISHING_CONNECTION = { servers: NATS_URL, noAsyncTraces: true };
const PREFIX = 'benchpublishing';

export interface PublishingWorkload {
  streams: number;
  eventsPerStream: number;
  batchSize: number;
  partitions: number;
}

/**
 * Fills the feed with one-event appends in round-robin over the streams, as
 * interleaved as live traffic, so a publisher batch spans many streams.
 */
export async function fillFeed(url: string, workload: PublishingWorkload): Promise<void> {
  const db = createPgDb({ connectionString: url, max: 16 });
  const store = createEventStore(db);
  try {
    const streamIds = Array.from({ length: workload.streams }, (_, index) => `account-${index}`);
    for (let version = 1; version <= workload.eventsPerStream; version++) {
      await Promise.all(
        streamIds.map((streamId) =>
          store.appendToStream({
            streamId,
            streamType: 'account',
            expectedVersion: version - 1,
            events: [{ type: 'MoneyDeposited', data: { amount: version, reference: `ref-${streamId}-${version}` } }],
            metadata: { correlationId: crypto.randomUUID(), causationId: crypto.randomUUID() },
          }),
        ),
      );
    }
    await db.query('VACUUM ANALYZE events');
  } finally {
    await db.close();
  }
}

async function freshStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(STREAM).catch(() => false);
}

/** Every side must have left each message in the stream once: a side that lost or doubled some fails the benchmark. */
async function expectStored(nc: NatsConnection, side: string, expected: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(STREAM);
  if (state.messages !== expected) throw new Error(`${side} left ${state.messages} messages in the stream, expected ${expected}`);
}

/** The publisher publishing the whole feed, from its start, into a fresh stream: messages/s. */
export async function measurePublisher(url: string, workload: PublishingWorkload): Promise<Throughput> {
  // The pool the bank's publisher function has, its service's (in five interleaved pairs of runs, 4 were no faster),
  // with the bounds it runs with: each statement is timed.
  const { poolMax, connectTimeoutMs, queryTimeoutMs } = bankService.database;
  const db: Db = createPgDb({ connectionString: url, max: poolMax, connectTimeoutMs, queryTimeoutMs });
  const nc = await connect({ servers: NATS_URL });
  await freshStream(nc);
  // Its checkpoints start over: the next run registers them again at the start of the feed.
  await db.query("DELETE FROM processor_partitions WHERE processor LIKE 'publisher:%'");
  await db.query("DELETE FROM partition_leases WHERE lease_group LIKE 'publisher:%'");
  await db.query('VACUUM ANALYZE processor_partitions, partition_leases');
  const publisher = createPublisher({
    db,
    connect: () => connect(PUBLISHING_CONNECTION),
    stream: { name: STREAM },
    subjectPrefix: PREFIX,
    batchSize: workload.batchSize,
    partitions: workload.partitions,
  });
  try {
    const throughputSince = startThroughput();
    const report = await publisher.run({ deadline: Date.now() + 600_000 });
    const total = workload.streams * workload.eventsPerStream;
    const throughput = throughputSince(total);
    if (report.published !== total || report.duplicates !== 0) {
      throw new Error(`publisher run published ${report.published} (${report.duplicates} duplicates), expected ${total}`);
    }
    await expectStored(nc, 'the publisher', total);
    return throughput;
  } finally {
    await publisher.close();
    await freshStream(nc);
    await nc.close();
    await db.close();
  }
}

/** Every stored event as the publisher sends it (same subject, body, headers and id), in feed order. */
async function readEveryMessage(url: string): Promise<PublishMessage[]> {
  const db = createPgDb({ connectionString: url, max: 1 });
  const routing = eventRouting({ prefix: PREFIX });
  try {
    const { rows } = await db.query<{ event_id: string }>('SELECT event_id FROM events ORDER BY tx_id, global_position');
    const events = await eventMessagesById(db, rows.map((row) => row.event_id));
    const order = new Map(rows.map((row, index) => [row.event_id, index]));
    events.sort((a, b) => (order.get(a.eventId) ?? 0) - (order.get(b.eventId) ?? 0));
    return events.map((event) => ({
      messageId: event.eventId,
      orderingKey: event.streamId,
      subject: routing.subjectFor(event) ?? '',
      payload: event.payload,
      headers: event.headers,
    }));
  } finally {
    await db.close();
  }
}

/** Sends one window of messages and waits for every acknowledgement. */
type SendWindow = (messages: readonly PublishMessage[]) => Promise<unknown>;

/** js.publish per message, as a service would hand-write it. */
function viaJsPublish(nc: NatsConnection): SendWindow {
  const js = jetstream(nc);
  return (messages) =>
    Promise.all(
      messages.map((message) => {
        const h = natsHeaders();
        for (const [name, value] of Object.entries(message.headers)) h.set(name, value);
        return js.publish(message.subject, message.payload, { msgID: message.messageId, headers: h });
      }),
    );
}

/** The publisher's own publishing (one inbox, one timer per window), without its database. */
function viaPublisherPath(nc: NatsConnection): SendWindow {
  const publishing = jetStreamPublishing(nc, '_INBOX');
  return async (messages) => {
    const results = await publishing.publishAll(messages, 5_000);
    const failed = results.find((result) => result.kind !== 'published');
    if (failed) throw new Error(`a baseline publish failed: ${failed.kind}`);
  };
}

export const DIRECT_PUBLISHES = { jsPublish: viaJsPublish, publisherPath: viaPublisherPath } as const;

/**
 * Direct pipelined JetStream publishes of the same messages, windows of
 * batchSize, no database: messages/s. Timed from the connection and the
 * stream's creation, which the publisher's run does too.
 */
export async function measureDirectPublishes(
  url: string,
  workload: PublishingWorkload,
  sendWith: (nc: NatsConnection) => SendWindow,
): Promise<Throughput> {
  const messages = await readEveryMessage(url);
  const admin = await connect({ servers: NATS_URL });
  try {
    await freshStream(admin);
    const throughputSince = startThroughput();
    const nc = await connect(PUBLISHING_CONNECTION);
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: STREAM, subjects: [`${PREFIX}.>`], duplicate_window: 600_000_000_000 });
      const send = sendWith(nc);
      for (let start = 0; start < messages.length; start += workload.batchSize) {
        await send(messages.slice(start, start + workload.batchSize));
      }
      const throughput = throughputSince(messages.length);
      await expectStored(nc, 'a direct publisher', messages.length);
      return throughput;
    } finally {
      await nc.close();
    }
  } finally {
    // With NATS gone this fails too; the connection is closed all the same, and the first error stands.
    await freshStream(admin).catch(() => undefined);
    await admin.close();
  }
}
