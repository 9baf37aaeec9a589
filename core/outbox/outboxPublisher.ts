import type { NatsConnection } from '@nats-io/transport-node';
import { holdingLeases, type PartitionLease } from '../leases';
import { jetStreamPublishing, type JetStreamPublishing } from './jetStreamPublishing';
import { ensureOutboxStream } from './jetStreamSetup';
import { deletePublishedMessages } from './outboxMaintenance';
import { drainPartition, type DrainOutcome } from './partitionDrain';
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

export function createOutboxPublisher(options: OutboxPublisherOptions): OutboxPublisher {
  const settings = publisherSettings(options);
  let connection: { nc: NatsConnection; publishing: JetStreamPublishing } | undefined;

  let connecting: Promise<{ nc: NatsConnection; publishing: JetStreamPublishing }> | undefined;

  async function open(): Promise<{ nc: NatsConnection; publishing: JetStreamPublishing }> {
    const nc = await settings.connect();
    try {
      await ensureOutboxStream(nc, settings.stream);
    } catch (error) {
      await nc.close();
      throw error;
    }
    return { nc, publishing: jetStreamPublishing(nc, settings.inboxPrefix) };
  }

  // One connection per instance, reused across runs (warm Lambda invocations) and
  // shared by the partitions draining at once; the stream is checked once per connection.
  async function publishing(): Promise<JetStreamPublishing> {
    if (connection && !connection.nc.isClosed()) return connection.publishing;
    connecting ??= open().finally(() => {
      connecting = undefined;
    });
    connection = await connecting;
    return connection.publishing;
  }

  return {
    run: (runOptions = {}) => runPublisher(settings, publishing, runOptions.deadline ?? Date.now() + 60_000),
    async close() {
      const current = connection;
      connection = undefined;
      if (current && !current.nc.isClosed()) await current.nc.drain();
    },
  };
}

async function runPublisher(
  settings: PublisherSettings,
  publishing: () => Promise<JetStreamPublishing>,
  deadline: number,
): Promise<PublisherRunReport> {
  const tally = new RunTally();
  const lease = { group: 'outbox', partitions: settings.partitions, holder: settings.holder, ttlMs: settings.leaseTtlMs };
  await holdingLeases(settings.db, lease, async (acquire) => {
    let leases = await acquireFree(acquire);
    let outcomes: DrainOutcome[] = [];
    while (leases.length > 0) {
      outcomes = await Promise.all(leases.map((acquired) => drainPartition({ settings, publishing, tally, deadline }, acquired)));
      leases = Date.now() < deadline ? await acquireFree(acquire) : [];
    }
    // The last round's drains: none of them stopped by the deadline (and there was one).
    tally.report.caughtUp = outcomes.length > 0 && outcomes.every((outcome) => outcome !== 'deadline');
  });
  tally.report.cleaned = await deletePublishedMessages(settings.db, settings.cleanup);
  return tally.finish();
}

/** Every partition free now, so they drain side by side. */
async function acquireFree(acquire: () => Promise<PartitionLease | null>): Promise<PartitionLease[]> {
  const leases: PartitionLease[] = [];
  for (let lease = await acquire(); lease; lease = await acquire()) leases.push(lease);
  return leases;
}
