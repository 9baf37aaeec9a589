import { jetstreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Db, Queryable, QueryOptions } from '../../core/db';
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

/** The pool, on which the first write fenced by a publisher's lease (a parking) fails as a database gone away would. */
function failingTheFirstFencedWrite(pool: Db): Db {
  let failed = false;
  const watched = (queryable: Queryable): Queryable => ({
    query: async <Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions) => {
      if (!failed && options?.name === 'processor_fence_writes') {
        failed = true;
        throw new Error('the database went away');
      }
      return queryable.query<Row>(text, params, options);
    },
  });
  return { ...watched(pool), transaction: (work) => pool.transaction((tx) => work(watched(tx))), close: () => pool.close() };
}

/** The pool, on which the first write fenced by a publisher's lease (a parking) finds the lease taken over, as after a stall past it. */
function leaseLostAtTheFirstFencedWrite(pool: Db): Db {
  let lost = false;
  const watched = (queryable: Queryable): Queryable => ({
    query: async <Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions) => {
      if (!lost && options?.name === 'processor_fence_writes') {
        lost = true;
        return { rows: [], rowCount: 0 };
      }
      return queryable.query<Row>(text, params, options);
    },
  });
  return { ...watched(pool), transaction: (work) => pool.transaction((tx) => work(watched(tx))), close: () => pool.close() };
}

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

    await expect(publishEverything(h.db, h.publisher({ db: failingTheFirstFencedWrite(h.db), partitions: 1 }))).rejects.toThrow('the database went away');
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

    const report = await h.publisher({ db: leaseLostAtTheFirstFencedWrite(h.db), partitions: 1 }).run({ deadline: Date.now() + 10_000 });

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

    await expect(publishEverything(h.db, h.publisher({ db: failingTheFirstFencedWrite(h.db), partitions: 1, routing }))).rejects.toThrow('the database went away');
    expect(await versionsOf(h, streamId)).toEqual([]);

    // A deploy fixes the routing before the next run.
    routingBroken = false;
    await publishEverything(h.db, h.publisher({ partitions: 1, routing }));
    expect(await versionsOf(h, streamId)).toEqual([1, 2, 3]);
    expect(await listParkedMessages(h.db)).toEqual([]);
  });
});
