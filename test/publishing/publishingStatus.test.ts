import { DiscardPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { checkRestore, fixRestore } from '../../core/browser';
import type { Db, Queryable, QueryOptions } from '../../core/db';
import { eventRouting, listParkedMessages, parkMessages, readPublishingStatus, requeueParkedMessage } from '../../core/publishing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened as accountOpened, uniqueStreamId } from '../support/fixtures';
import { deleteJetStream } from '../support/natsTesting';
import { cleanedUpAfterEach, publishEverything } from './publishingHarness';

const { defer, harness } = cleanedUpAfterEach();

/** A Db that runs `meanwhile` right after its first statement that reads (a `SET` does not). */
function afterFirstRead(db: Db, meanwhile: () => Promise<void>): Db {
  let first = true;
  const interleaved = (queryable: Queryable): Queryable => ({
    query: async <Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions) => {
      const result = await queryable.query<Row>(text, params, options);
      if (first && !/^\s*SET\b/i.test(text)) {
        first = false;
        await meanwhile();
      }
      return result;
    },
  });
  return { ...interleaved(db), transaction: (work) => db.transaction((tx) => work(interleaved(tx))), close: () => db.close() };
}

describe('the publishing status', () => {
  it('is one reading: a message parked while the status is read counts once, as waiting or as parked', async () => {
    const h = await harness();
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_msg_size: 1024 });
    await h.store.appendToStream({
      streamId: uniqueStreamId(),
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [{ type: 'StatementAttached', data: { pdf: 'x'.repeat(4_000) } }],
    });
    await untilFeedHorizonPasses(h.db);
    expect(await readPublishingStatus(h.db)).toMatchObject({ events: { backlog: 1 }, parked: 0 });

    let parkedMeanwhile = 0;
    const status = await readPublishingStatus(
      afterFirstRead(h.db, async () => {
        parkedMeanwhile = (await publishEverything(h.db, h.publisher())).parked;
      }),
    );

    expect(parkedMeanwhile).toBe(1);
    expect(status.events.backlog + status.parked).toBe(1);
    expect(await readPublishingStatus(h.db)).toMatchObject({ events: { backlog: 0 }, parked: 1 });
  });

  it('given a message parked behind one still waiting, counts it once: as parked, not in the backlog', async () => {
    const h = await harness();
    // A full stream that discards new messages holds the partition's checkpoint before the parked message.
    const fullStream = `${h.streamName}_FULL`;
    const fullSubject = `${h.subjectPrefix}full.notices`;
    await (await jetstreamManager(h.nc)).streams.add({ name: fullStream, subjects: [fullSubject], max_msgs: 1, discard: DiscardPolicy.New });
    defer(() => deleteJetStream(h.nc, fullStream));
    await jetstream(h.nc).publish(fullSubject, 'filler');
    const nowhere = `nowhere${h.subjectPrefix}.notices`;
    const held = uniqueStreamId();
    const refused = uniqueStreamId();
    const subjectOf = (streamId: string) => (streamId === held ? fullSubject : nowhere);
    for (const streamId of [held, refused]) {
      const messages = [{ subject: subjectOf(streamId), body: { streamId }, orderingKey: streamId }];
      await h.store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [accountOpened()], messages });
    }
    await untilFeedHorizonPasses(h.db);

    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => subjectOf(event.streamId) });
    const publisher = h.publisher({ routing, partitions: 1, publishTimeoutMs: 500, retryBackoff: { baseMs: 20, maxMs: 50 } });
    const report = await publisher.run({ deadline: Date.now() + 2_000 });

    expect(report).toMatchObject({ published: 0, parked: 2 });
    const status = await readPublishingStatus(h.db);
    expect(status).toMatchObject({ events: { backlog: 1 }, outbox: { backlog: 1 }, parked: 2 });
    expect(status.events.partitions).toMatchObject([{ lagItems: 1 }]);
    expect(status.outbox.partitions).toMatchObject([{ lagItems: 1 }]);
  });

  it('given a requeue restored from another cluster (its transaction above this cluster\'s counter), each run sends and parks the message again, saying so in its report, until restore-check --fix ends the loop', async () => {
    // Given an event on a subject no stream captures, parked, then requeued.
    const h = await harness();
    const subject = `nowhere${h.subjectPrefix}.opened`;
    const publisher = h.publisher({ routing: eventRouting({ prefix: h.subjectPrefix, subjectFor: () => subject }) });
    const { events } = await h.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [accountOpened()] });
    expect(await publishEverything(h.db, publisher)).toMatchObject({ parked: 1 });
    expect(await requeueParkedMessage(h.db, events[0]?.eventId ?? '')).toBe(true);
    // Its requeue made by a transaction ahead of this cluster's counter: no snapshot sees it.
    await h.db.query("UPDATE parked_messages SET requeued_by = (pg_snapshot_xmax(pg_current_snapshot())::text::numeric + 1000000)::text::xid8");
    expect(await readPublishingStatus(h.db)).toMatchObject({ parked: 0, requeued: 1 });
    await untilFeedHorizonPasses(h.db);

    // When runs send it and NATS refuses it, each parks it again, and the requeue stays.
    for (let run = 1; run <= 2; run += 1) expect(await publisher.run()).toMatchObject({ parked: 1 });
    expect(await listParkedMessages(h.db)).toMatchObject([{ refusals: 3, requeuedAt: expect.any(Date) as unknown }]);
    // The status counts it requeued (its row is there to send); restore-check names the loop.
    expect(await readPublishingStatus(h.db)).toMatchObject({ parked: 0, requeued: 1 });
    expect((await checkRestore(h.db)).requeuesAhead).toBe(1);

    // Then restore-check --fix has the requeue count as seen: the next refusal parks it for good, needing a person.
    await fixRestore(h.db);
    expect(await publisher.run()).toMatchObject({ parked: 1 });
    expect(await listParkedMessages(h.db)).toMatchObject([{ refusals: 4, requeuedAt: null }]);
    expect(await readPublishingStatus(h.db)).toMatchObject({ parked: 1, requeued: 0 });
  });

  it('counts a message requeued again while an earlier try of it was on its way as requeued, not parked, when that try is refused: the next run sends it', async () => {
    const h = await harness();
    const { events } = await h.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [accountOpened()] });
    const eventId = events[0]?.eventId ?? '';
    await parkMessages(h.db, 'events', [{ messageId: eventId, orderingKey: 'k', subject: 'nowhere.opened', error: 'no stream' }]);
    // A requeue, read by a turn in this snapshot; then a person requeues it again after a fix.
    expect(await requeueParkedMessage(h.db, eventId)).toBe(true);
    const { rows } = await h.db.query<{ snapshot: string }>('SELECT pg_current_snapshot()::text AS snapshot');
    expect(await requeueParkedMessage(h.db, eventId)).toBe(true);

    // When the earlier try is refused, parked by the turn that read it.
    await parkMessages(h.db, 'events', [{ messageId: eventId, orderingKey: 'k', subject: 'nowhere.opened', error: 'no stream' }], rows[0]?.snapshot ?? null);

    // Then the later requeue stands: on its way, not needing a person.
    expect(await listParkedMessages(h.db)).toMatchObject([{ refusals: 2, requeuedAt: expect.any(Date) as unknown, onItsWay: true }]);
    expect(await readPublishingStatus(h.db)).toMatchObject({ parked: 0, requeued: 1 });
  });
});
