import type pg from 'pg';
import { START_OF_FEED, type EventStore } from '../../core/eventstore';
import { compareInterleaved, type Comparison } from '../support/compareInterleaved';
import { withEventStore, withPlainPool } from '../support/connections';
import { measureThroughputAndCpu, type Step, type Timing } from '../support/measureThroughput';
import { nextEvents, STREAM_TYPE } from '../support/sampleEvents';

export interface FeedScenario {
  eventCount: number;
  batchSize: number;
  /** Per round; each side runs two rounds, each at least one whole scan. */
  timing: Timing;
}

const FILL_EVENTS_PER_APPEND = 500;

// The columns readFeed returns, in its order and form (the record time as epoch
// milliseconds, which the driver does not parse with a regular expression), walked by
// keyset as a hand-written reader would, in a prepared statement, stopping below the
// oldest transaction still open, as any correct walk of that order must: without it, a
// reader skips the events of a transaction that commits late.
const BASELINE_FEED_SQL = `
  SELECT global_position, tx_id, stream_id, stream_type, version, event_id, type, schema_version, data, metadata,
    floor(date_part('epoch', recorded_at) * 1000 + 0.0005) AS recorded_at_ms
  FROM events WHERE (tx_id, global_position) > ($1::xid8, $2::bigint) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
  ORDER BY tx_id, global_position LIMIT $3`;

/** Fills the feed, then repeatedly reads all of it from the start, one page at a time. */
export async function benchmarkFeedReads(url: string, scenario: FeedScenario): Promise<Comparison> {
  const { eventCount, batchSize, timing } = scenario;
  await withEventStore(url, 1, (store) => fillFeed(store, eventCount));
  await withPlainPool(url, 1, (pool) => pool.query('VACUUM ANALYZE events'));
  const measureScans = (scan: () => Promise<number>) =>
    measureThroughputAndCpu({ ...timing, concurrency: 1, createWorker: () => checkedScan(scan, eventCount) });
  return compareInterleaved(
    `read feed from start, batches of ${batchSize}`,
    'events/s',
    () => withEventStore(url, 1, (store) => measureScans(() => scanWithStore(store, batchSize))),
    () => withPlainPool(url, 1, (pool) => measureScans(() => scanWithBaseline(pool, batchSize))),
  );
}

async function fillFeed(store: EventStore, eventCount: number): Promise<void> {
  const streamId = 'feed-fill';
  for (let version = 0; version < eventCount; version += FILL_EVENTS_PER_APPEND) {
    const events = nextEvents(streamId, version, Math.min(FILL_EVENTS_PER_APPEND, eventCount - version));
    await store.appendToStream({ streamId, streamType: STREAM_TYPE, expectedVersion: version, events });
  }
}

// readFeed stops below the oldest running transaction's id, so a long
// transaction anywhere on the server would silently shorten the scan.
function checkedScan(scan: () => Promise<number>, expected: number): Step {
  return async () => {
    const read = await scan();
    if (read !== expected) throw new Error(`feed scan read ${read} events, expected ${expected}`);
    return read;
  };
}

async function scanWithStore(store: EventStore, batchSize: number): Promise<number> {
  let after = START_OF_FEED;
  let read = 0;
  for (;;) {
    const page = await store.readFeed({ after, batchSize });
    read += page.events.length;
    if (page.caughtUp) return read;
    after = page.checkpoint;
  }
}

async function scanWithBaseline(pool: pg.Pool, batchSize: number): Promise<number> {
  let after = ['0', '0'];
  let read = 0;
  for (;;) {
    const { rows } = await pool.query<[globalPosition: string, txId: string, ...rest: unknown[]]>({ name: 'baseline_feed_page', text: BASELINE_FEED_SQL, values: [...after, batchSize], rowMode: 'array' });
    read += rows.length;
    const last = rows[rows.length - 1];
    if (rows.length < batchSize || last === undefined) return read;
    after = [last[1], last[0]];
  }
}
