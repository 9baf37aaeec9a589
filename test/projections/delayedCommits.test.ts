import { describe, expect, it } from 'vitest';
import { compareCheckpoints, createEventStore, START_OF_FEED, type Checkpoint } from '../../core/eventstore';
import { createProjector } from '../../core/projections';
import { deposited, opened, sleep } from '../support/fixtures';
import { seededRandom } from '../support/seededRandom';
import { useProjectionDatabase } from './support/projectionDatabase';
import { expectExactlyOnceInOrder, readApplied, recordingProjection } from './support/recordingProjection';

const WRITERS = 8;
const TRANSACTIONS_PER_WRITER = 30;
const STREAMS = 16;

class DeliberateRollback extends Error {}

describe('projections while commits are delayed', () => {
  const context = useProjectionDatabase();

  it('apply every committed event once and no rolled-back one, though commits land out of position order', async () => {
    const { connect } = context();
    const seed = Date.now() % 100_000;
    const writerDb = connect(WRITERS);
    const writerStore = createEventStore(writerDb);
    const streamIds = Array.from({ length: STREAMS }, (_, index) => `delayed-${index}`);
    for (const streamId of streamIds) {
      await writerStore.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    }
    const committed: string[] = [];
    const rolledBack: string[] = [];
    let last: Checkpoint = START_OF_FEED;

    const writer = async (random: () => number) => {
      for (let index = 0; index < TRANSACTIONS_PER_WRITER; index += 1) {
        const streamId = streamIds[Math.floor(random() * STREAMS)] ?? 'unreachable';
        const holdMs = random() < 0.4 ? 5 + Math.floor(random() * 40) : 0;
        const rollback = random() < 0.1;
        let ids: string[] = [];
        try {
          const result = await writerDb.transaction(async (tx) => {
            const appended = await writerStore.appendToStream(
              { streamId, streamType: 'account', expectedVersion: 'any', events: [deposited(1), deposited(2)] },
              tx,
            );
            ids = appended.events.map((event) => event.eventId);
            if (holdMs > 0) await sleep(holdMs);
            if (rollback) throw new DeliberateRollback();
            return appended;
          });
          committed.push(...ids);
          if (compareCheckpoints(result.checkpoint, last) > 0) last = result.checkpoint;
        } catch (error) {
          if (!(error instanceof DeliberateRollback)) throw error;
          rolledBack.push(...ids);
        }
      }
    };

    const projection = recordingProjection({ name: 'delayed', partitions: 2, batchSize: 17 });
    const projectors = [0, 1].map((index) =>
      createProjector({ db: connect(2), projections: [recordingProjection({ name: 'delayed', partitions: 2, batchSize: 17, instance: `p${index}` })] }),
    );
    let writing = true;
    const writers = Promise.all(Array.from({ length: WRITERS }, (_, index) => writer(seededRandom(seed * 31 + index)))).finally(() => {
      writing = false;
    });
    const reader = connect(1);
    const following = projectors.map(async (projector) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        await projector.runUntilCaughtUp();
        if (!writing && (await readApplied(reader, projection)).length >= committed.length + STREAMS) return;
        if (Date.now() > deadline) throw new Error(`the projectors did not catch up (seed ${seed})`);
        await sleep(3);
      }
    });
    await writers;
    await Promise.all(following);

    const applied = await readApplied(reader, projection);
    const openings = applied.filter((row) => row.version === 1).map((row) => row.event_id);
    expectExactlyOnceInOrder(applied, [...openings, ...committed]);
    expect(openings).toHaveLength(STREAMS);
    expect(applied.map((row) => row.event_id).filter((id) => rolledBack.includes(id)), `seed ${seed}`).toEqual([]);
    expect(rolledBack.length).toBeGreaterThan(0);
  });
});
