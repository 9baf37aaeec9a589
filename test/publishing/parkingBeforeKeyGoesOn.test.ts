import { jetstreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Db, Queryable, QueryOptions, QueryResult } from '../../core/db';
import { eventRouting, listParkedMessages } from '../../core/publishing';
import { deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { messagesOf, publishEverything, startPublishingHarness, type PublishingHarness } from './publishingHarness';

type Attachment = { type: 'StatementAttached'; data: { pdf: string } };

const started: PublishingHarness[] = [];
afterEach(async () => {
  for (const harness of started.splice(0)) await harness.close();
});

/** A harness whose stream takes messages of at most 8 KiB until widened. */
async function narrowStream(): Promise<PublishingHarness> {
  const h = await startPublishingHarness();
  started.push(h);
  const jsm = await jetstreamManager(h.nc);
  await jsm.streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_msg_size: 8 * 1024, duplicate_window: nanos(10 * 60_000) });
  return h;
}

/** The pool, on which the first write fenced by a publisher's lease (a parking) meets `instead` rather than the database. */
function atTheFirstFencedWrite(pool: Db, instead: () => Promise<QueryResult<never>>): Db {
  let met = false;
  const watched = (queryable: Queryable): Queryable => ({
    query: <Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<Row>> => {
      if (!met && options?.name === 'processor_fence_writes') {
        met = true;
        return instead();
      }
      return queryable.query<Row>(text, params, options);
    },
  });
  return { ...watched(pool), transaction: (work) => pool.transaction((tx) => work(watched(tx))), close: () => pool.close() };
}

// As a database gone away would answer it, or as one whose lease another holder took over since (a stall past it).
const databaseAway = () => Promise.reject(new Error('the database went away'));
const leaseTakenOver = () => Promise.resolve({ rows: [], rowCount: 0 });

const versionsOf = async (h: PublishingHarness, streamId: string) =>
  (await messagesOf(h, [streamId])).map((message) => Number(message.header.get('Stream-Version')));

describe('a message to be parked whose parking fails', () => {
  it('refused for good by NATS: its stream’s later events are not sent before it, and once the stream takes it, all go out in order', async () => {
    const h = await narrowStream();
    const streamId = uniqueStreamId();
    await h.store.appendToStream<AccountEvent | Attachment>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [{ type: 'StatementAttached', data: { pdf: 'x'.repeat(20_000) } }, deposited(1), deposited(2)],
    });

    await expect(publishEverything(h.db, h.publisher({ db: atTheFirstFencedWrite(h.db, databaseAway), partitions: 1 }))).rejects.toThrow('the database went away');
    expect(await versionsOf(h, streamId)).toEqual([]);

    // The stream is widened before the next run.
    await (await jetstreamManager(h.nc)).streams.update(h.streamName, { max_msg_size: 64 * 1024 });
    await publishEverything(h.db, h.publisher({ partitions: 1 }));
    expect(await versionsOf(h, streamId)).toEqual([1, 2, 3]);
    expect(await listParkedMessages(h.db)).toEqual([]);
  });

  it('because the lease was lost: nothing more of the batch goes out, the other streams’ messages left to the holder that took it over', async () => {
    const h = await narrowStream();
    const refused = uniqueStreamId();
    const other = uniqueStreamId();
    await h.store.appendToStream<AccountEvent | Attachment>({
      streamId: refused,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [{ type: 'StatementAttached', data: { pdf: 'x'.repeat(20_000) } }, deposited(1)],
    });
    await h.store.appendToStream<AccountEvent>({ streamId: other, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2), deposited(3)] });
    await untilFeedHorizonPasses(h.db);

    const report = await h.publisher({ db: atTheFirstFencedWrite(h.db, leaseTakenOver), partitions: 1 }).run({ deadline: Date.now() + 10_000 });

    // Sent with the refused message, in the first round: the rest waited for the parking.
    expect(await versionsOf(h, other)).toEqual([1]);
    expect(report).toMatchObject({ published: 1, parked: 0, leaseLost: 1 });
  });

  it('routed to a subject NATS cannot carry: its stream’s later events are not sent before it, and once the routing is fixed, all go out in order', async () => {
    const h = await narrowStream();
    const streamId = uniqueStreamId();
    await h.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2)] });
    let routingBroken = true;
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (routingBroken && event.type === 'AccountOpened' ? `${h.subjectPrefix}.opened.*` : undefined) });

    await expect(publishEverything(h.db, h.publisher({ db: atTheFirstFencedWrite(h.db, databaseAway), partitions: 1, routing }))).rejects.toThrow('the database went away');
    expect(await versionsOf(h, streamId)).toEqual([]);

    // A deploy fixes the routing before the next run.
    routingBroken = false;
    await publishEverything(h.db, h.publisher({ partitions: 1, routing }));
    expect(await versionsOf(h, streamId)).toEqual([1, 2, 3]);
    expect(await listParkedMessages(h.db)).toEqual([]);
  });
});
