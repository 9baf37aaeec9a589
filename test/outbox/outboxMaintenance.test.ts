import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePublishedMessages, listParkedMessages, readOutboxStatus, requeueParkedMessage } from '../../core/outbox';
import { deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { readStoredMessages } from '../support/natsTesting';
import { publishEverything, publishUntilParked, startOutboxHarness, type OutboxHarness } from './outboxHarness';

let harness: OutboxHarness;

beforeAll(async () => {
  // Room for an event over NATS's default max_payload of 1 MiB.
  harness = await startOutboxHarness({ maxEventBytes: 4 * 1024 * 1024 });
});

afterAll(async () => {
  await harness.close();
});

const outboxRows = async () =>
  (
    await harness.db.query<{ stream_version: number; published: boolean; parked: boolean }>(
      `SELECT stream_version, published_at IS NOT NULL AS published, parked_at IS NOT NULL AS parked
       FROM outbox ORDER BY id`,
    )
  ).rows;

describe('outbox cleanup', () => {
  it('deletes only published messages older than the retention, in bounded batches', async () => {
    const streamId = uniqueStreamId();
    await harness.store.appendToStream<AccountEvent>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened(), deposited(1), deposited(2), deposited(3), deposited(4), deposited(5)],
    });
    // Versions 1-3 were published two hours ago, 4 a minute ago; 5 is parked since long; 6 waits.
    await harness.db.query(
      `UPDATE outbox SET published_at = now() - CASE WHEN stream_version <= 3 THEN interval '2 hours' ELSE interval '1 minute' END,
              created_at = now() - interval '3 hours'
       WHERE stream_id = $1 AND stream_version <= 4`,
      [streamId],
    );
    await harness.db.query(
      `UPDATE outbox SET parked_at = now() - interval '3 hours', created_at = now() - interval '3 hours'
       WHERE stream_id = $1 AND stream_version = 5`,
      [streamId],
    );

    const deleted = await deletePublishedMessages(harness.db, { retentionMs: 60 * 60_000, batchSize: 2, maxBatches: 10 });
    expect(deleted).toBe(3);
    expect(await outboxRows()).toEqual([
      { stream_version: 4, published: true, parked: false },
      { stream_version: 5, published: false, parked: true },
      { stream_version: 6, published: false, parked: false },
    ]);
    expect(await deletePublishedMessages(harness.db, { retentionMs: 60 * 60_000, batchSize: 2, maxBatches: 10 })).toBe(0);
    await harness.db.query('DELETE FROM outbox');
  });

  it('runs as part of every publisher run', async () => {
    const streamId = uniqueStreamId();
    await harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const publisher = harness.publisher({ cleanup: { retentionMs: 0 } });
    expect(await publishEverything(harness.db, publisher)).toMatchObject({ published: 1, cleaned: 1 });
    expect(await outboxRows()).toEqual([]);
  });
});

describe('a message NATS refuses', () => {
  it('is parked with its error after the last attempt, and the rest of its stream is published', async () => {
    const streamId = uniqueStreamId();
    const huge = 'x'.repeat(1_100_000);
    const appended = await harness.store.appendToStream<AccountEvent | { type: 'StatementAttached'; data: { pdf: string } }>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened(), { type: 'StatementAttached', data: { pdf: huge } }, deposited(7)],
    });
    const publisher = harness.publisher({ maxAttempts: 3, refusalBackoff: { baseMs: 1, maxMs: 5 } });

    expect(await publishUntilParked(harness.db, publisher)).toBe(3);
    await publishEverything(harness.db, publisher);

    const parked = await listParkedMessages(harness.db);
    expect(parked).toMatchObject([
      { eventId: appended.events[1]?.eventId, streamId, streamVersion: 2, attempts: 3 },
    ]);
    expect(parked[0]?.lastError).toMatch(/max_payload/);
    expect(await readOutboxStatus(harness.db)).toMatchObject({ backlog: 0, parked: 1 });
    const delivered = (await readStoredMessages(harness.nc, harness.streamName))
      .filter((message) => message.header.get('Stream-Id') === streamId)
      .map((message) => Number(message.header.get('Stream-Version')));
    expect(delivered).toEqual([1, 3]);

    expect(await requeueParkedMessage(harness.db, appended.events[1]?.eventId ?? '')).toBe(true);
    expect(await readOutboxStatus(harness.db)).toMatchObject({ backlog: 1, parked: 0 });
  });
});
