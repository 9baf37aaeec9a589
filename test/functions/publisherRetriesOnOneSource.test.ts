import { jetstream, jetstreamManager, DiscardPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquirePartitionLease } from '../../core/processing';
import { readPublishingStatus } from '../../core/publishing';
import { handler as publish } from '../../functions/publisher';
import { getRuntime } from '../../functions/runtime';
import { lambdaContext } from '../support/apiGatewayEvent';
import { usePublisherFunctionApp } from '../support/publisherFunctionApp';
import { postCommandRequest } from '../support/commandHttp';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { connectNats, deleteJetStream } from '../support/natsTesting';

const { jetStream, lines, nats } = usePublisherFunctionApp();

/** Runs `work` with the stream full (one message, discard new) until it is purged, `purgedAfterMs` in. */
async function refusedForAWhile(purgedAfterMs: number, work: () => Promise<void>): Promise<void> {
  const nc = await connectNats({ servers: nats().url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: jetStream.name, subjects: [`${jetStream.prefix}.>`], max_msgs: 1, discard: DiscardPolicy.New, duplicate_window: nanos(600_000) });
    await jetstream(nc).publish(`${jetStream.prefix}.filler`, 'x');
    const purge = setTimeout(() => void jsm.streams.purge(jetStream.name), purgedAfterMs);
    try {
      await work();
    } finally {
      clearTimeout(purge);
    }
  } finally {
    await nc.close();
  }
}

afterAll(async () => {
  const nc = await connectNats({ servers: nats().url });
  await deleteJetStream(nc, jetStream.name);
  await nc.close();
});

describe('the publisher function, retrying on one source while another instance holds the other', () => {
  beforeAll(async () => {
    // Registers the processors: nothing to publish yet.
    await publish({}, lambdaContext('publisher', 25_000));
  });

  it('given an event refused for a while and then published, and every outbox partition held elsewhere, says published, not that not every message went out', async () => {
    const { db } = await getRuntime();
    const { rows } = await db.query<{ partitions: number }>("SELECT partitions FROM feed_processors WHERE name = 'publisher:outbox'");
    const partitions = rows[0]?.partitions ?? 0;
    for (let only = 0; only < partitions; only += 1) {
      expect(await acquirePartitionLease(db, { group: 'publisher:outbox', partitions, holder: 'elsewhere', ttlMs: 60_000, only })).not.toBeNull();
    }
    try {
      expect((await postCommandRequest('OpenAccount', { accountId: 'acc-one-source', owner: 'Ada', currency: 'EUR' })).statusCode).toBe(200);
      await untilFeedHorizonPasses(db);
      lines.length = 0;
      await refusedForAWhile(1_000, () => publish({}, lambdaContext('publisher', 30_000)));
    } finally {
      await db.query("DELETE FROM partition_leases WHERE holder = 'elsewhere'");
    }

    const status = await readPublishingStatus(db);
    expect(status.events.backlog + status.outbox.backlog).toBe(0);
    const ownLines = lines.filter((line) => 'report' in line.fields);
    expect(ownLines.map((line) => [line.level, line.message])).toEqual([['info', 'published']]);
    expect((ownLines[0]?.fields.report as { retried: number } | undefined)?.retried).toBeGreaterThan(0);
  }, 30_000);
});
