import type { Queryable } from '../db';
import type { Checkpoint } from '../eventstore';
import type { FencedWrites } from '../processing';

/** A message settled (stored by JetStream, parked, or private) behind one its partition still waits on, at its place in its source. */
export interface PublishedAheadMessage {
  messageId: string;
  at: Checkpoint;
}

// A record of the id already there is left behind from a message cleaned up since (only
// one message holds an id at a time): it moves to the new one's place, or the new one
// would go unrecorded and out again on every try.
const RECORD_SQL = `
  INSERT INTO published_ahead (processor, partition, message_id, tx_id, position)
  SELECT $1, $2, m.message_id, m.tx_id, m.position
  FROM unnest($3::uuid[], $4::xid8[], $5::bigint[]) AS m (message_id, tx_id, position)
  ON CONFLICT (processor, message_id) DO UPDATE SET partition = excluded.partition, tx_id = excluded.tx_id, position = excluded.position`;

/**
 * Records, fenced by the partition's lease and before the batch's checkpoint,
 * what was settled behind the partition's waiting message: every later page read
 * marks them settled (migrations/0036), in this run and the next ones, so they
 * never go out again, however long the message ahead of them waits. Remembered
 * only within a run, they went out again in every run, and JetStream stored them
 * again once its duplicate window had passed. A page steps over as many rows as
 * its partition has recorded, so parked and private ones are recorded too: read
 * again on every try, they would fill the page.
 */
export async function recordPublishedAhead(
  fenced: FencedWrites,
  partition: { processor: string; index: number },
  messages: readonly PublishedAheadMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  await fenced((tx) =>
    tx.query(
      RECORD_SQL,
      [
        partition.processor,
        partition.index,
        messages.map((message) => message.messageId),
        messages.map((message) => message.at.txId.toString()),
        messages.map((message) => message.at.position.toString()),
      ],
      { name: 'publisher_record_published_ahead' },
    ),
  );
}

// Its partition's checkpoint has passed it, so no page reads it again; or its partition is
// gone (the publisher registered again with another partition count), with nothing to pass it.
// Deleted by its place as found: a record moved meanwhile to a new message's place (a batch
// recording it, the row locked) no longer matches once the delete gets to it, where a
// condition on the record alone would be checked against its old place and delete it.
const FORGET_PASSED_SQL = `
  DELETE FROM published_ahead AS a
  USING (
    SELECT r.processor, r.message_id, r.tx_id, r.position FROM published_ahead AS r
    WHERE NOT EXISTS (
      SELECT FROM processor_partitions AS p
      WHERE p.processor = r.processor AND p.partition = r.partition
        AND (r.tx_id, r.position) > (p.checkpoint_tx, p.checkpoint_position))) AS passed
  WHERE a.processor = passed.processor AND a.message_id = passed.message_id
    AND a.tx_id = passed.tx_id AND a.position = passed.position`;

/** Forgets what the checkpoints have passed; the table stays empty while nothing waits. */
export async function forgetPublishedAheadPassed(db: Queryable): Promise<void> {
  await db.query(FORGET_PASSED_SQL, [], { name: 'publisher_forget_published_ahead' });
}
