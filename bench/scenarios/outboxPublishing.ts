import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore } from '../../core/eventstore';
import { createOutboxPublisher, outboxRouting } from '../../core/outbox';

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const STREAM = 'BENCH_OUTBOX';
// Both sides publish through connections set up alike, as functions/outboxPublisher.ts sets them up.
const PUBLISHING_CONNECTION = { servers: NATS_URL, noAsyncTraces: true };
const PREFIX = 'benchoutbox';

export interface OutboxWorkload {
  streams: number;
  eventsPerStream: number;
  batchSize: number;
  partitions: number;
}

/**
 * Fills the outbox with one-event appends in round-robin over the streams, as
 * interleaved as live traffic, so a publisher batch spans many streams.
 */
export async function fillOutbox(url: string, workload: OutboxWorkload): Promise<void> {
  const db = createPgDb({ connectionString: url, max: 16 });
  const store = createEventStore(db, { outbox: outboxRouting({ prefix: PREFIX }) });
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
  } finally {
    await db.close();
  }
}

async function freshStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(STREAM).catch(() => false);
}

/** The outbox publisher draining the whole outbox into a fresh stream: messages/s. */
export async function measurePublisher(url: string, workload: OutboxWorkload): Promise<number> {
  const db: Db = createPgDb({ connectionString: url, max: 4 });
  const nc = await connect({ servers: NATS_URL });
  await freshStream(nc);
  await db.query('UPDATE outbox SET published_at = NULL');
  await db.query('VACUUM ANALYZE outbox');
  const publisher = createOutboxPublisher({
    db,
    connect: () => connect(PUBLISHING_CONNECTION),
    stream: { name: STREAM },
    subjectPrefix: PREFIX,
    batchSize: workload.batchSize,
    partitions: workload.partitions,
    cleanup: { retentionMs: 24 * 3_600_000 },
  });
  try {
    const started = performance.now();
    const report = await publisher.run({ deadline: Date.now() + 600_000 });
    const seconds = (performance.now() - started) / 1000;
    const total = workload.streams * workload.eventsPerStream;
    if (report.published !== total || report.duplicates !== 0) {
      throw new Error(`publisher run published ${report.published} (${report.duplicates} duplicates), expected ${total}`);
    }
    return total / seconds;
  } finally {
    await publisher.close();
    await freshStream(nc);
    await nc.close();
    await db.close();
  }
}

interface Message {
  subject: string;
  payload: string;
  headers: Record<string, string>;
  eventId: string;
}

/** Direct pipelined JetStream publishes of the same messages, windows of batchSize, no database: messages/s. */
export async function measureDirectPublishes(url: string, workload: OutboxWorkload): Promise<number> {
  const db = createPgDb({ connectionString: url, max: 1 });
  const { rows } = await db.query<{ subject: string; payload: string; headers: Record<string, string>; event_id: string }>(
    'SELECT subject, payload::text AS payload, headers, event_id FROM outbox ORDER BY id',
  );
  await db.close();
  const messages: Message[] = rows.map((row) => ({ subject: row.subject, payload: row.payload, headers: row.headers, eventId: row.event_id }));
  const nc = await connect(PUBLISHING_CONNECTION);
  try {
    await freshStream(nc);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM, subjects: [`${PREFIX}.>`], duplicate_window: 600_000_000_000 });
    const js = jetstream(nc);
    const started = performance.now();
    for (let start = 0; start < messages.length; start += workload.batchSize) {
      await Promise.all(
        messages.slice(start, start + workload.batchSize).map((message) => {
          const h = natsHeaders();
          for (const [name, value] of Object.entries(message.headers)) h.set(name, value);
          return js.publish(message.subject, message.payload, { msgID: message.eventId, headers: h });
        }),
      );
    }
    return messages.length / ((performance.now() - started) / 1000);
  } finally {
    await freshStream(nc);
    await nc.close();
  }
}
