import type { NatsConnection } from '@nats-io/transport-node';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore, type EventStore } from '../../core/eventstore';
import {
  createOutboxPublisher,
  outboxRouting,
  readOutboxStatus,
  type OutboxPublisher,
  type OutboxPublisherOptions,
  type PublisherRunReport,
} from '../../core/outbox';
import { connectNats, deleteJetStream, uniqueJetStream } from '../support/natsTesting';
import { createTestDatabase, dropIfFails, type TestDatabase } from '../support/testDatabase';

/** One database, one JetStream stream and subject prefix, and publishers bound to them. */
export interface OutboxHarness {
  db: Db;
  store: EventStore;
  nc: NatsConnection;
  streamName: string;
  /** The prefix of this harness's subjects, which its stream captures. */
  subjectPrefix: string;
  publisher(overrides?: Partial<OutboxPublisherOptions>): OutboxPublisher;
  close(): Promise<void>;
}

export async function startOutboxHarness(options: { maxEventBytes?: number } = {}): Promise<OutboxHarness> {
  const database: TestDatabase = await createTestDatabase();
  // With NATS down the harness never starts, so nobody would close it and drop its database.
  const nc = await dropIfFails(database, () => connectNats());
  const db = createPgDb({ connectionString: database.url, max: 10 });
  const { name: streamName, prefix } = uniqueJetStream();
  const store = createEventStore(db, { outbox: outboxRouting({ prefix }), ...options });
  const publishers: OutboxPublisher[] = [];
  const pools: Db[] = [];
  return {
    db,
    store,
    nc,
    streamName,
    subjectPrefix: prefix,
    publisher(overrides = {}) {
      // Each publisher gets its own pool and connection, as a separate Lambda would.
      const publisherDb = overrides.db ?? createPgDb({ connectionString: database.url, max: 3 });
      if (!overrides.db) pools.push(publisherDb);
      const publisher = createOutboxPublisher({
        connect: () => connectNats(),
        stream: { name: streamName },
        subjectPrefix: prefix,
        leaseTtlMs: 5_000,
        retryHorizonMs: 60_000,
        ...overrides,
        db: publisherDb,
      });
      publishers.push(publisher);
      return publisher;
    },
    async close() {
      for (const publisher of publishers) await publisher.close();
      for (const pool of pools) await pool.close();
      await deleteJetStream(nc, streamName);
      await nc.close();
      await db.close();
      await database.drop();
    },
  };
}

/**
 * A Db for a process that dies right after publishing: the "mark published" write
 * and everything after it fail, so it neither marks its messages nor releases its leases.
 */
export function dyingBeforeMark(db: Db): Db {
  let dead = false;
  const die = () => Promise.reject(new Error('process killed before marking'));
  return {
    query: (text, params, options) => {
      if (text.includes('SET published_at')) dead = true;
      return dead ? die() : db.query(text, params, options);
    },
    transaction: (work) => (dead ? die() : db.transaction(work)),
    close: () => db.close(),
  };
}

/** A Db that runs `hook` once, just before the publisher's `n`-th read of pending messages. */
export function beforePendingRead(db: Db, n: number, hook: () => Promise<void>): Db {
  let reads = 0;
  return {
    query: async (text, params, options) => {
      if (text.includes('outbox_pending_batch') && ++reads === n) await hook();
      return db.query(text, params, options);
    },
    transaction: (work) => db.transaction(work),
    close: () => db.close(),
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a publisher until this database's outbox has no backlog, adding up the
 * reports. One run is not always enough: the publisher reads only below the
 * server-wide snapshot horizon, which other test files' open transactions can
 * hold back for a moment.
 */
export async function publishEverything(db: Db, publisher: OutboxPublisher): Promise<Pick<PublisherRunReport, 'published' | 'duplicates' | 'cleaned'>> {
  const total = { published: 0, duplicates: 0, cleaned: 0 };
  for (let run = 0; run < 200; run++) {
    const report = await publisher.run();
    total.published += report.published;
    total.duplicates += report.duplicates;
    total.cleaned += report.cleaned;
    if ((await readOutboxStatus(db)).backlog === 0) return total;
    await pause(25);
  }
  throw new Error('the outbox did not drain');
}

/** Runs a publisher until a message is parked; returns the refusals counted on the way. */
export async function publishUntilParked(db: Db, publisher: OutboxPublisher): Promise<number> {
  let refused = 0;
  for (let run = 0; run < 50 && (await readOutboxStatus(db)).parked === 0; run++) {
    refused += (await publisher.run()).refused;
  }
  return refused;
}

/** Runs a publisher built on dyingBeforeMark until it dies, which it does at its first publish. */
export async function runUntilItDies(publisher: OutboxPublisher): Promise<unknown> {
  for (let run = 0; run < 200; run++) {
    try {
      await publisher.run();
    } catch (error) {
      return error;
    }
    await pause(25);
  }
  throw new Error('the publisher never published');
}
