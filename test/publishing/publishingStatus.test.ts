import { jetstreamManager } from '@nats-io/jetstream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Db, Queryable, QueryOptions } from '../../core/db';
import { readPublishingStatus } from '../../core/publishing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { uniqueStreamId } from '../support/fixtures';
import { publishEverything, startPublishingHarness, type PublishingHarness } from './publishingHarness';

const opened: PublishingHarness[] = [];
afterEach(async () => {
  for (const harness of opened.splice(0)) await harness.close();
});

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
    const h = await startPublishingHarness();
    opened.push(h);
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
});
