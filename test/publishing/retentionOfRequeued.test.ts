import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { listParkedMessages, requeueParkedMessage } from '../../core/publishing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { deleteJetStream } from '../support/natsTesting';
import { cleanedUpAfterEach, runUntil } from './publishingHarness';

const { defer, harness } = cleanedUpAfterEach();

describe('the retention of a requeued integration message', () => {
  it('given a retention of 0 and a cleanup that ran out of batches in the runs before, deletes the message at the end of the run that publishes it after its requeue', async () => {
    const h = await harness();
    const withMessage = (subject: string, n: number) => {
      const key = uniqueStreamId();
      return h.store.appendToStream<AccountEvent>({ streamId: key, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [{ subject, orderingKey: key, body: { n } }] });
    };
    // No stream captures this subject yet: its message is parked.
    const elsewhere = `${h.subjectPrefix}x.notices`;
    await withMessage(elsewhere, 0);
    // Messages written after it, published at once.
    for (let n = 1; n <= 6; n++) await withMessage(`${h.subjectPrefix}.notices`, n);
    await untilFeedHorizonPasses(h.db);
    // Two batches of one message a run: a run's cleanup never reaches the last of them.
    const publisher = h.publisher({ partitions: 1, retention: { retentionMs: 0, batchSize: 1, maxBatches: 2 } });
    await runUntil(publisher, async () => (await listParkedMessages(h.db)).length === 1);

    // When the subject is captured, and the message requeued.
    const side = `${h.streamName}_SIDE`;
    await (await jetstreamManager(h.nc)).streams.add({ name: side, subjects: [elsewhere] });
    defer(() => deleteJetStream(h.nc, side));
    const [parked] = await listParkedMessages(h.db);
    expect(await requeueParkedMessage(h.db, parked?.messageId ?? '')).toBe(true);
    const report = await publisher.run({ deadline: Date.now() + 10_000 });

    // Then the run that publishes it deletes it.
    expect(report.requeued).toBe(1);
    expect(await listParkedMessages(h.db)).toEqual([]);
    const { rows } = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE message_id = $1', [parked?.messageId]);
    expect(rows[0]?.n).toBe(0);
  });
});
