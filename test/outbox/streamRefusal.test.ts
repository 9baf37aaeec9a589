import { jetstreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listParkedMessages } from '../../core/outbox';
import { deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { readStoredMessages } from '../support/natsTesting';
import { publishEverything, publishUntilParked, startOutboxHarness, type OutboxHarness } from './outboxHarness';

let harness: OutboxHarness;

beforeAll(async () => {
  harness = await startOutboxHarness();
  // The stream takes messages of up to 8 KiB, though NATS itself would carry 1 MiB:
  // a larger message reaches the server and comes back refused in its acknowledgement.
  const jsm = await jetstreamManager(harness.nc);
  await jsm.streams.add({
    name: harness.streamName,
    subjects: [`${harness.subjectPrefix}.>`],
    max_msg_size: 8 * 1024,
    duplicate_window: nanos(10 * 60_000),
  });
});

afterAll(async () => {
  await harness.close();
});

describe('a message the JetStream stream refuses', () => {
  it('is parked with the server’s error after the last attempt, and the rest of its stream is published', async () => {
    const streamId = uniqueStreamId();
    const appended = await harness.store.appendToStream<AccountEvent | { type: 'StatementAttached'; data: { pdf: string } }>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened(), { type: 'StatementAttached', data: { pdf: 'x'.repeat(20_000) } }, deposited(7)],
    });
    const publisher = harness.publisher({ maxAttempts: 2, refusalBackoff: { baseMs: 1, maxMs: 5 } });

    expect(await publishUntilParked(harness.db, publisher)).toBe(2);
    await publishEverything(harness.db, publisher);

    const parked = await listParkedMessages(harness.db);
    expect(parked).toMatchObject([{ eventId: appended.events[1]?.eventId, streamVersion: 2, attempts: 2 }]);
    expect(parked[0]?.lastError).toMatch(/message size exceeds maximum/i);
    const delivered = (await readStoredMessages(harness.nc, harness.streamName)).map((message) =>
      Number(message.header.get('Stream-Version')),
    );
    expect(delivered).toEqual([1, 3]);
  });
});
