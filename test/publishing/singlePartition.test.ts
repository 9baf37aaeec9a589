import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPublishingStatus } from '../../core/publishing';
import { deposited, opened, sleep, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { expectDeliveredOnceInOrder, nothingWaits, startPublishingHarness, type PublishingHarness } from './publishingHarness';

// A database of its own: a processor's partition count is fixed when it first
// registers, and the other files' publishers register four.
let harness: PublishingHarness;

beforeAll(async () => {
  harness = await startPublishingHarness();
});

afterAll(async () => {
  await harness.close();
});

/** Appends `perStream` events to each new stream, each append's transaction held open a few ms after it wrote. */
async function appendWithLateCommits(streams: number, perStream: number): Promise<string[]> {
  const streamIds = Array.from({ length: streams }, () => uniqueStreamId());
  await Promise.all(
    streamIds.map(async (streamId) => {
      for (let version = 1; version <= perStream; version++) {
        await harness.db.transaction(async (tx) => {
          const events = [version === 1 ? opened() : deposited(version)];
          await harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: version - 1, events }, tx);
          await sleep(Math.random() * 10);
        });
      }
    }),
  );
  return streamIds;
}

describe('publishing from the feed with one partition', () => {
  it('reads the whole feed unsplit and, with two publishers at once while commits land late, delivers every event once and in stream order', async () => {
    const publishers = [harness.publisher({ partitions: 1 }), harness.publisher({ partitions: 1 })];
    let writing = true;
    const publishing = publishers.map(async (publisher) => {
      while (writing || !(await nothingWaits(harness.db))) {
        await publisher.run({ deadline: Date.now() + 2_000 });
        await sleep(5);
      }
    });
    const streamIds = await appendWithLateCommits(20, 15);
    writing = false;
    await Promise.all(publishing);

    await expectDeliveredOnceInOrder(harness, streamIds, 15);
    const status = await readPublishingStatus(harness.db);
    expect(status.events.partitions.map((partition) => partition.partition)).toEqual([0]);
  });
});
