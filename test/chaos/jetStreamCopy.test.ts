import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetStreamCopy } from '../../scripts/chaos/jetStreamCopy';
import { opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { NATS_URL } from '../support/natsTesting';
import { publishEverything, startPublishingHarness, type PublishingHarness } from '../publishing/publishingHarness';

let harness: PublishingHarness;
beforeAll(async () => {
  harness = await startPublishingHarness();
});
afterAll(async () => {
  await harness.close();
});

describe("the chaos run's check of the stream's copy", () => {
  it('tells a relay\'s integration message (an Event-Id naming another\'s id) from a stored event, as consumers do', async () => {
    const streamId = uniqueStreamId();
    await harness.store.appendToStream<AccountEvent>({
      streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()],
      messages: [{ subject: `${harness.subjectPrefix}.notices.relayed`, orderingKey: streamId, body: { streamId }, headers: { 'Event-Id': randomUUID() } }],
    });
    expect(await publishEverything(harness.db, harness.publisher())).toMatchObject({ published: 2, parked: 0 });

    const invariants = await jetStreamCopy(harness.db, NATS_URL, harness.streamName);

    expect(invariants.map((invariant) => [invariant.name, invariant.holds])).toEqual([
      ['every stored event in JetStream once, in per-stream order', true],
      ['every integration message in JetStream once, in per-key order', true],
    ]);
  });
});
