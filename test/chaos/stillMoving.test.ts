import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { createEventStore, FEED_SCAN_BOUND, NO_UPCASTING } from '../../core/eventstore';
import { eventFeedSource, registerProcessor } from '../../core/processing';
import { EVENTS_PUBLISHER } from '../../core/publishing';
import { stillMoving } from '../../scripts/chaos/invariants';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { backlogInPartitionZero } from '../support/otherPartitionBacklog';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(4);

/** A processor's partition said to have read everything stored so far. */
async function checkpointAtHead(database: Db, processor: string, partition: number): Promise<void> {
  await database.query(
    `UPDATE processor_partitions p SET checkpoint_tx = h.tx_id, checkpoint_position = h.global_position
     FROM (SELECT e.tx_id, e.global_position FROM events e ORDER BY e.tx_id DESC, e.global_position DESC LIMIT 1) AS h
     WHERE p.processor = $1 AND p.partition = $2`,
    [processor, partition],
  );
}

// More events than a lag count walks lie between a reader and what it has still to do:
// its count is capped with nothing counted, and the chaos run must not take it for settled.
describe("the chaos run's stillMoving, with a reader behind more events than a lag count walks", () => {
  it('counts a saga processor that has not yet read a rare event as still moving', async () => {
    await backlogInPartitionZero(db(), FEED_SCAN_BOUND * 5.5);
    await createEventStore(db()).appendToStream({ streamId: 'rare-1', streamType: 'rare', expectedVersion: 'no_stream', events: [{ type: 'RareThing', data: {} }] });
    await untilFeedHorizonPasses(db());
    // The publisher has published everything; the saga has not started reading.
    await registerProcessor(db(), EVENTS_PUBLISHER, 1);
    await checkpointAtHead(db(), EVENTS_PUBLISHER, 0);
    const saga = { name: 'saga:rare', source: eventFeedSource({ upcaster: NO_UPCASTING, eventTypes: ['RareThing'] }) };
    await registerProcessor(db(), saga.name, 1);

    expect(await stillMoving({ db: db(), sagas: { processors: [saga] } })).toBeGreaterThan(0);

    await checkpointAtHead(db(), saga.name, 0);
    expect(await stillMoving({ db: db(), sagas: { processors: [saga] } })).toBe(0);
  });
});
