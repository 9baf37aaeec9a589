import { DiscardPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { acquirePartitionLease } from '../../core/processing';
import { expireLeases } from '../support/expireLeases';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { cleanedUpAfterEach, publishEverything } from './publishingHarness';

const { harness } = cleanedUpAfterEach();

describe("a publisher run's last error", () => {
  it('given an events partition taken over from a dead publisher as the run began, and an integration message a full stream refuses until the deadline, is the refusal: the later of the two', async () => {
    const h = await harness();
    const jsm = await jetstreamManager(h.nc);
    // Full, with discard new: every try is refused for a while (10077, retried), never parked.
    await jsm.streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_msgs: 1, discard: DiscardPolicy.New });
    await jetstream(h.nc).publish(`${h.subjectPrefix}.filler`, 'x');
    const publisher = h.publisher({ partitions: 2 });
    // Registers both processors, with nothing to publish.
    await publishEverything(h.db, publisher);
    expect(await acquirePartitionLease(h.db, { group: 'publisher:events', partitions: 2, holder: 'dead', ttlMs: 60_000, only: 0 })).not.toBeNull();
    await expireLeases(h.db, 'publisher:events');
    await h.db.query("INSERT INTO outbox (message_id, ordering_key, subject, payload, headers) VALUES (gen_random_uuid(), 'notices', $1, '{}', '{}')", [`${h.subjectPrefix}.notices`]);
    await untilFeedHorizonPasses(h.db);

    const report = await publisher.run({ deadline: Date.now() + 2_000 });

    expect(report).toMatchObject({ failures: 1, caughtUp: false });
    expect(report.retried).toBeGreaterThan(0);
    expect(report.lastError).toMatch(/maximum messages/i);
  });
});
