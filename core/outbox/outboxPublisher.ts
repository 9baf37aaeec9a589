import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  acquirePartitionLease,
  releasePartitionLease,
  renewPartitionLease,
  type PartitionLease,
} from '../leases';
import { ensureOutboxStream } from './jetStreamSetup';
import { markPublished, readPendingMessages, recordRefusal } from './outboxMessages';
import { deletePublishedMessages } from './outboxMaintenance';
import { publishInStreamOrder } from './publishInStreamOrder';
import { describeError } from './publishRefusal';
import { publisherSettings, type OutboxPublisherOptions, type PublisherSettings } from './publisherOptions';
import { RunTally, type PublisherRunReport } from './publisherRunReport';

export interface OutboxPublisher {
  /**
   * Publishes until nothing is left or the deadline passes, then deletes
   * published messages past their retention. Leases its partitions for the run.
   */
  run(options?: { deadline?: number }): Promise<PublisherRunReport>;
  /** Drains and closes the NATS connection. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createOutboxPublisher(options: OutboxPublisherOptions): OutboxPublisher {
  const settings = publisherSettings(options);
  let connection: { nc: NatsConnection; js: JetStreamClient } | undefined;

  // One connection per instance, reused across runs (warm Lambda invocations); the
  // stream is checked once per connection.
  async function jetStream(): Promise<JetStreamClient> {
    if (connection && !connection.nc.isClosed()) return connection.js;
    const nc = await settings.connect();
    try {
      await ensureOutboxStream(nc, settings.stream);
    } catch (error) {
      await nc.close();
      throw error;
    }
    connection = { nc, js: jetstream(nc) };
    return connection.js;
  }

  return {
    run: (runOptions = {}) => runPublisher(settings, jetStream, runOptions.deadline ?? Date.now() + 60_000),
    async close() {
      const current = connection;
      connection = undefined;
      if (current && !current.nc.isClosed()) await current.nc.drain();
    },
  };
}

async function runPublisher(
  settings: PublisherSettings,
  jetStream: () => Promise<JetStreamClient>,
  deadline: number,
): Promise<PublisherRunReport> {
  const { db } = settings;
  const tally = new RunTally();
  let held: PartitionLease[] = [];
  let unreachableRuns = 0;
  try {
    while (Date.now() < deadline) {
      const acquired = await acquirePartitionLease(db, {
        group: 'outbox',
        partitions: settings.partitions,
        holder: settings.holder,
        ttlMs: settings.leaseTtlMs,
      });
      if (acquired) held.push(acquired);
      if (held.length === 0) break;
      let progressed = acquired !== null;
      let unreachable = false;
      const js = await jetStream().catch((error: unknown) => {
        // Connecting or setting up the stream failed: NATS is down or misconfigured.
        tally.report.lastError = describeError(error);
        return undefined;
      });
      if (js) {
        // Partitions are independent: their batches run at once, so one's database
        // work overlaps another's publishes.
        const batches = await Promise.all(
          held.map(async (lease) => {
            const current = await renewPartitionLease(db, lease, settings.leaseTtlMs);
            return current ? { lease: current, ...(await publishBatch(settings, js, current, tally)) } : undefined;
          }),
        );
        held = batches.flatMap((batch) => (batch ? [batch.lease] : []));
        progressed ||= batches.some((batch) => batch !== undefined && batch.handled > 0);
        unreachable = batches.some((batch) => batch?.unreachable);
      } else {
        unreachable = true;
      }
      if (unreachable) {
        const { baseMs, maxMs } = settings.unreachableBackoff;
        const pause = Math.min(maxMs, baseMs * 2 ** unreachableRuns++) * (0.5 + Math.random() / 2);
        await sleep(Math.max(0, Math.min(pause, deadline - Date.now())));
        continue;
      }
      unreachableRuns = 0;
      if (!progressed) {
        tally.report.caughtUp = true;
        break;
      }
    }
  } finally {
    await Promise.all(held.map((lease) => releasePartitionLease(db, lease)));
  }
  tally.report.cleaned = await deletePublishedMessages(db, settings.cleanup);
  return tally.finish();
}

async function publishBatch(
  settings: PublisherSettings,
  js: JetStreamClient,
  lease: PartitionLease,
  tally: RunTally,
): Promise<{ handled: number; unreachable: boolean }> {
  const { db } = settings;
  const messages = await readPendingMessages(db, { index: lease.partition, count: lease.partitions }, settings.batchSize);
  if (messages.length === 0) return { handled: 0, unreachable: false };
  const results = await publishInStreamOrder(js, messages, settings.publishTimeoutMs);
  for (const result of results) tally.count(result);
  await markPublished(db, results.flatMap((result) => (result.kind === 'published' ? [result.message.id] : [])));
  let handled = 0;
  let unreachable = false;
  for (const result of results) {
    if (result.kind === 'published') handled++;
    else if (result.kind === 'unreachable') unreachable = true;
    else {
      handled++;
      const { parked } = await recordRefusal(db, result.message.id, describeError(result.error), {
        maxAttempts: settings.maxAttempts,
        backoffBaseMs: settings.refusalBackoff.baseMs,
        backoffMaxMs: settings.refusalBackoff.maxMs,
      });
      if (parked) tally.report.parked++;
    }
  }
  return { handled, unreachable };
}
