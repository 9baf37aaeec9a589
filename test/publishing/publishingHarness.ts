import { DiscardPolicy, jetstream, jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, expect, onTestFinished } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore, type EventStore, type EventStoreOptions, type JsonObject } from '../../core/eventstore';
import { createPublisher, readPublishingStatus, type Publisher, type PublisherOptions, type PublisherRunReport } from '../../core/publishing';
import { deposited, sleep, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { connectNats, deleteJetStream, readStoredMessages, uniqueJetStream } from '../support/natsTesting';
import { createTestDatabase, dropIfFails, type TestDatabase } from '../support/testDatabase';

/** One database, one JetStream stream and subject prefix, and publishers bound to them. */
export interface PublishingHarness {
  db: Db;
  store: EventStore;
  nc: NatsConnection;
  database: TestDatabase;
  streamName: string;
  /** The prefix of this harness's subjects, which its stream captures. */
  subjectPrefix: string;
  /** A publisher of its own, closed (with its pool) when the test that made it ends. */
  publisher(overrides?: Partial<PublisherOptions>): Publisher;
  close(): Promise<void>;
}

/** A publisher the harness made, with the pool it opened for it (none when the test gave its own). */
interface MadePublisher {
  publisher: Publisher;
  pool: Db | undefined;
}

export async function startPublishingHarness(options: EventStoreOptions = {}): Promise<PublishingHarness> {
  const database: TestDatabase = await createTestDatabase();
  // With NATS down the harness never starts, so nobody would close it and drop its database.
  const nc = await dropIfFails(database, () => connectNats());
  const db = createPgDb({ connectionString: database.url, max: 10 });
  const { name: streamName, prefix } = uniqueJetStream();
  const store = createEventStore(db, options);
  const open = new Set<MadePublisher>();
  const closePublisher = async (entry: MadePublisher) => {
    if (!open.delete(entry)) return;
    await entry.publisher.close();
    await entry.pool?.close();
  };
  return {
    db,
    store,
    nc,
    database,
    streamName,
    subjectPrefix: prefix,
    publisher(overrides = {}) {
      // Each publisher gets its own pool and connection, as a separate Lambda would. Both go when
      // its test ends: kept until the file's end, one file's pools added up to 40-odd connections.
      const publisherDb = overrides.db ?? createPgDb({ connectionString: database.url, max: 3 });
      const publisher = createPublisher({
        connect: () => connectNats(),
        stream: { name: streamName },
        subjectPrefix: prefix,
        leaseTtlMs: 5_000,
        retryHorizonMs: 60_000,
        ...overrides,
        db: publisherDb,
      });
      const entry = { publisher, pool: overrides.db ? undefined : publisherDb };
      open.add(entry);
      onTestFinished(() => closePublisher(entry));
      return publisher;
    },
    async close() {
      for (const entry of [...open]) await closePublisher(entry);
      await deleteJetStream(nc, streamName);
      await nc.close();
      await db.close();
      await database.drop();
    },
  };
}

/** Nothing waits: no event and no integration message past the publisher's checkpoints. */
export async function nothingWaits(db: Db): Promise<boolean> {
  const status = await readPublishingStatus(db);
  return status.events.backlog === 0 && status.outbox.backlog === 0;
}

/** Consecutive runs' reports added up: the last run's caughtUp, the last error any run met, and each run's own report. */
export interface RunTotals extends Omit<PublisherRunReport, 'latency'> {
  reports: PublisherRunReport[];
}

const COUNTS = ['published', 'duplicates', 'parked', 'retried', 'requeued', 'cleaned', 'failures', 'leaseLost'] as const;

// Room for many runs on a loaded two-core runner, well within a test's timeout.
const RUNS_BOUND_MS = 30_000;

/**
 * Runs a publisher again and again, adding up the reports, until `reached`
 * holds for the totals. One run is not enough to assert on: it reads only
 * below the server-wide snapshot horizon, which other test files' open
 * transactions can hold back for a moment, and on a slow machine a run's
 * deadline can pass before its first batch. With `runMs`, each run's deadline
 * is that long after it starts, for runs that stay blocked until it.
 */
export async function runUntil(
  publisher: Publisher,
  reached: (totals: RunTotals) => boolean | Promise<boolean>,
  runMs?: number,
): Promise<RunTotals> {
  const totals: RunTotals = { published: 0, duplicates: 0, parked: 0, retried: 0, requeued: 0, cleaned: 0, cleanupCutShort: false, cleanupError: null, failures: 0, leaseLost: 0, caughtUp: false, stoppedByDeadline: false, lastError: null, reports: [] };
  const giveUpAt = Date.now() + RUNS_BOUND_MS;
  for (;;) {
    const report = await publisher.run(runMs === undefined ? {} : { deadline: Date.now() + runMs });
    for (const count of COUNTS) totals[count] += report[count];
    totals.caughtUp = report.caughtUp;
    totals.stoppedByDeadline = report.stoppedByDeadline;
    totals.lastError = report.lastError ?? totals.lastError;
    totals.reports.push(report);
    if (await reached(totals)) return totals;
    if (Date.now() > giveUpAt) {
      const counts = Object.fromEntries(COUNTS.map((count) => [count, totals[count]]));
      throw new Error(`the publisher did not get there in ${totals.reports.length} runs: ${JSON.stringify({ ...counts, lastError: totals.lastError })}`);
    }
    await sleep(25);
  }
}

/** Runs a publisher until nothing waits, adding up the reports. */
export function publishEverything(db: Db, publisher: Publisher): Promise<RunTotals> {
  return runUntil(publisher, async (totals) => totals.caughtUp && (await nothingWaits(db)));
}

/** A deposit to a new stream with one notice on `notices.<kind>`, both published; the deposit's stream id. */
export async function publishedDepositWithNotice(
  harness: PublishingHarness,
  kind: string,
  notice: { body: JsonObject; headers?: Record<string, string> },
): Promise<string> {
  const streamId = uniqueStreamId();
  await harness.store.appendToStream<AccountEvent>({
    streamId,
    streamType: 'account',
    expectedVersion: 'no_stream',
    events: [deposited(1)],
    messages: [{ subject: `${harness.subjectPrefix}.notices.${kind}`, orderingKey: streamId, ...notice }],
  });
  await publishEverything(harness.db, harness.publisher());
  return streamId;
}

/**
 * A Db for a process that dies right after JetStream acknowledged a batch: the
 * checkpoint write and everything after it fail, so it neither stores its
 * checkpoint nor releases its leases.
 */
export function dyingBeforeCheckpoint(db: Db): Db {
  let dead = false;
  const die = () => Promise.reject(new Error('process killed before storing its checkpoint'));
  return {
    query: (text, params, options) => {
      // The fenced checkpoint write's fifth parameter counts the batch's items: an idle poll's write goes through.
      if (options?.name === 'processor_advance_fenced' && Number(params?.[4]) > 0) dead = true;
      return dead ? die() : db.query(text, params, options);
    },
    transaction: (work) => (dead ? die() : db.transaction(work)),
    close: () => db.close(),
  };
}

/** Runs a publisher built on dyingBeforeCheckpoint until it dies, which it does after its first acknowledged batch. */
export async function runUntilItDies(publisher: Publisher): Promise<unknown> {
  for (let run = 0; run < 200; run++) {
    try {
      await publisher.run();
    } catch (error) {
      return error;
    }
    await sleep(25);
  }
  throw new Error('the publisher never published');
}

const header = (message: StoredMsg, name: string) => message.header.get(name);

/** The messages the stream holds for these ordering keys (stream ids, for events), in stream order. */
export async function messagesOf(harness: PublishingHarness, keys: readonly string[], headerName = 'Stream-Id'): Promise<StoredMsg[]> {
  const wanted = new Set(keys);
  return (await readStoredMessages(harness.nc, harness.streamName)).filter((message) => wanted.has(header(message, headerName)));
}

/** The stream holds each event of these streams exactly once, in version order per stream. */
export async function expectDeliveredOnceInOrder(harness: PublishingHarness, streamIds: readonly string[], perStream: number): Promise<void> {
  const messages = await messagesOf(harness, streamIds);
  const versions = new Map<string, number[]>();
  for (const message of messages) {
    const streamId = header(message, 'Stream-Id');
    versions.set(streamId, [...(versions.get(streamId) ?? []), Number(header(message, 'Stream-Version'))]);
  }
  const expected = Array.from({ length: perStream }, (_, index) => index + 1);
  for (const streamId of streamIds) expect(versions.get(streamId), streamId).toEqual(expected);
  expect(messages).toHaveLength(streamIds.length * perStream);
}

/**
 * A plain subscriber on a subject no stream captures, which never answers: a
 * publish there waits out its timeout. Returns the message ids it receives, as
 * they come; it stops listening when the test ends.
 */
export async function silentSubscriber(harness: PublishingHarness, subject: string): Promise<string[]> {
  const received: string[] = [];
  const subscription = harness.nc.subscribe(subject, {
    callback: (_, message) => {
      received.push(message.headers?.get('Nats-Msg-Id') ?? '');
    },
  });
  onTestFinished(() => {
    subscription.unsubscribe();
  });
  await harness.nc.flush();
  return received;
}

/**
 * For a spec file: `defer` registers a cleanup, run after the spec that
 * registered it, the last registered first; `harness` starts a harness closed
 * the same way, after the spec's own cleanups.
 */
export function cleanedUpAfterEach(): { defer: (cleanup: () => Promise<unknown>) => void; harness: () => Promise<PublishingHarness> } {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const defer = (cleanup: () => Promise<unknown>) => void cleanups.push(cleanup);
  return {
    defer,
    harness: async () => {
      const started = await startPublishingHarness();
      defer(() => started.close());
      return started;
    },
  };
}

/**
 * Runs `work` with a subject of its own whose stream (named too) is full (one
 * message, discard new): JetStream refuses what is sent there until space is
 * made. The harness's stream does not capture the subject.
 */
export async function withFullStream(h: PublishingHarness, work: (subject: string, stream: string) => Promise<void>): Promise<void> {
  const jsm = await jetstreamManager(h.nc);
  const stream = `${h.streamName}_FULL`;
  const subject = `${h.subjectPrefix}full.notices`;
  await jsm.streams.add({ name: stream, subjects: [subject], max_msgs: 1, discard: DiscardPolicy.New });
  try {
    await jetstream(h.nc).publish(subject, 'filler');
    await work(subject, stream);
  } finally {
    await jsm.streams.delete(stream);
  }
}
