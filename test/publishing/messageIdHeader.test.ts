import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntegrationMessage } from '../../core/eventstore';
import { opened, sleep, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { readStoredMessages } from '../support/natsTesting';
import { dyingBeforeCheckpoint, publishEverything, runUntilItDies, startPublishingHarness, type PublishingHarness } from './publishingHarness';

// JetStream de-duplicates a message by its Nats-Msg-Id header. Some servers (2.9)
// find that header by searching the header block for its name and take the first
// match, even inside another header's name or value: with such a header first,
// the message counts as having no id, and a copy sent again is stored again.

let harness: PublishingHarness;
beforeAll(async () => {
  harness = await startPublishingHarness();
});
afterAll(async () => {
  await harness.close();
});

/** How many of the stream's messages carry this key in their body, once a publisher died past the acknowledgement and a successor published again. */
async function storedAfterACrashBeforeTheCheckpoint(key: string): Promise<number> {
  const dying = harness.publisher({ db: dyingBeforeCheckpoint(harness.db), leaseTtlMs: 1_000 });
  await runUntilItDies(dying);
  await sleep(1_200); // the dead publisher's lease runs out
  await publishEverything(harness.db, harness.publisher({ leaseTtlMs: 1_000 }));
  const stored = await readStoredMessages(harness.nc, harness.streamName);
  return stored.filter((message) => message.string().includes(key)).length;
}

describe('the message id reaches JetStream whatever other headers say', () => {
  it('given an event whose correlation id mentions Nats-Msg-Id, when a publisher dies after the acknowledgement and another publishes again, then the stream holds the event once', async () => {
    const streamId = uniqueStreamId();
    await harness.store.appendToStream<AccountEvent>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened()],
      metadata: { correlationId: 'forwarded from Nats-Msg-Id 42' },
    });
    expect(await storedAfterACrashBeforeTheCheckpoint(streamId)).toBe(1);
  });

  it('given an integration message with a header named like the message id, when it is sent again after a crash, then the stream holds it once', async () => {
    const key = uniqueStreamId('notice');
    const message: IntegrationMessage = {
      subject: `${harness.subjectPrefix}.notices.sent`,
      orderingKey: key,
      body: { key },
      headers: { 'X-Upstream-Nats-Msg-Id': 'abc', 'X-Note': 'copied from Nats-Msg-Id: abc' },
    };
    await harness.store.appendToStream<AccountEvent>({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [message] });
    expect(await storedAfterACrashBeforeTheCheckpoint(key)).toBe(1);
  });
});
