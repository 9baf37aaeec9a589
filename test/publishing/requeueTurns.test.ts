import { DiscardPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { eventRouting, listParkedMessages, requeueParkedMessage } from '../../core/publishing';
import { opened, sleep, uniqueStreamId, withdrawn } from '../support/fixtures';
import { deleteJetStream, readStoredMessages } from '../support/natsTesting';
import { cleanedUpAfterEach, publishEverything, type PublishingHarness } from './publishingHarness';

const { defer, harness } = cleanedUpAfterEach();

/** A stream of its own for these subjects, deleted after the spec. */
async function streamFor(h: PublishingHarness, name: string, subjects: string[], limits: { max_msgs?: number; discard?: DiscardPolicy } = {}): Promise<void> {
  await (await jetstreamManager(h.nc)).streams.add({ name, subjects, ...limits });
  defer(() => deleteJetStream(h.nc, name));
}

// More than a requeue turn reads (100), all of one stream: a turn reads whole keys.
const HELD = 120;

describe('requeue turns', () => {
  it('given more requeued messages than a turn reads, all held back by a passing refusal, when a later one is requeued, then the next run sends it', async () => {
    const h = await harness();
    const heldSubject = `held${h.subjectPrefix}.withdrawn`;
    const healthySubject = `healthy${h.subjectPrefix}.opened`;
    const heldStream = uniqueStreamId();
    const healthyStream = uniqueStreamId();
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.streamId === heldStream ? heldSubject : healthySubject) });
    const publisher = h.publisher({ routing, publishTimeoutMs: 1_000, retryBackoff: { baseMs: 10, maxMs: 50 } });
    const held = await h.store.appendToStream({
      streamId: heldStream, streamType: 'account', expectedVersion: 'no_stream', events: Array.from({ length: HELD }, (_, index) => withdrawn(index + 1)),
    });
    const healthy = await h.store.appendToStream({ streamId: healthyStream, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    // No stream captures either subject yet: every event is parked.
    expect(await publishEverything(h.db, publisher)).toMatchObject({ parked: HELD + 1 });

    // The held subject's stream is full and discards new messages: a refusal that passes once there is room.
    await streamFor(h, `${h.streamName}_HELD`, [heldSubject], { max_msgs: 1, discard: DiscardPolicy.New });
    await jetstream(h.nc).publish(heldSubject, 'filler');
    await streamFor(h, `${h.streamName}_HEALTHY`, [healthySubject]);
    for (const event of held.events) expect(await requeueParkedMessage(h.db, event.eventId)).toBe(true);
    await sleep(20);
    const healthyId = healthy.events[0]?.eventId ?? '';
    expect(await requeueParkedMessage(h.db, healthyId)).toBe(true);

    await publisher.run({ deadline: Date.now() + 3_000 });

    const stored = await readStoredMessages(h.nc, `${h.streamName}_HEALTHY`);
    expect(stored.map((message) => message.header.get('Nats-Msg-Id'))).toEqual([healthyId]);
    const stillParked = await listParkedMessages(h.db, { limit: 1_000 });
    expect(stillParked).toHaveLength(HELD);
    expect(stillParked.every((message) => message.requeuedAt !== null)).toBe(true);
  });
});
