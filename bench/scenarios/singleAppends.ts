import type pg from 'pg';
import { newEventId, type EventStore } from '../../core/eventstore';
import { seededRandom } from '../../test/support/seededRandom';
import { insertBaselineEvent } from '../support/baselineTables';
import { compareInterleaved, type Comparison } from '../support/compareInterleaved';
import { withEventStore, withPlainPool } from '../support/connections';
import { measureThroughputAndCpu, type Step, type Throughput, type Timing } from '../support/measureThroughput';
import { countedRound, tallied } from '../support/writtenRows';
import { nextEvents, STREAM_TYPE } from '../support/sampleEvents';

/** A tenth of the appends open a new stream; the rest extend one of the worker's streams. */
const NEW_STREAM_SHARE = 0.1;

interface StreamPick {
  streamId: string;
  version: number;
}

/**
 * The streams one worker appends to, and which one comes next: the same
 * sequence on both sides (a seeded choice), so both write the same rows.
 */
function streamPicker(prefix: string, seed: number): { next(): StreamPick; appended(pick: StreamPick): void } {
  const random = seededRandom(seed);
  const streams: StreamPick[] = [];
  return {
    next() {
      const existing = streams[Math.floor(random() * streams.length)];
      if (existing && random() >= NEW_STREAM_SHARE) return existing;
      const opened = { streamId: `${prefix}-${streams.length}`, version: 0 };
      streams.push(opened);
      return opened;
    },
    appended(pick) {
      pick.version += 1;
    },
  };
}

function appendWithStore(store: EventStore, prefix: string, seed: number): Step {
  const streams = streamPicker(prefix, seed);
  return async () => {
    const pick = streams.next();
    const [event] = nextEvents(pick.streamId, pick.version, 1);
    if (!event) throw new Error('no event');
    await store.appendToStream({ streamId: pick.streamId, streamType: STREAM_TYPE, expectedVersion: pick.version, events: [event] });
    streams.appended(pick);
    return 1;
  };
}

function insertWithBaseline(pool: pg.Pool, prefix: string, seed: number): Step {
  const streams = streamPicker(prefix, seed);
  return async () => {
    const pick = streams.next();
    const [event] = nextEvents(pick.streamId, pick.version, 1);
    if (!event) throw new Error('no event');
    await insertBaselineEvent(pool, {
      streamId: pick.streamId,
      streamType: STREAM_TYPE,
      version: pick.version + 1,
      eventId: newEventId(),
      type: event.type,
      data: JSON.stringify(event.data),
      metadata: JSON.stringify(event.metadata),
    });
    streams.appended(pick);
    return 1;
  };
}

/**
 * Single-event appends at an exact expected version, a tenth of them to new
 * streams, beside single-row INSERTs of the same rows into a table keyed only
 * by a primary key and a unique (stream_id, version), at the same concurrency,
 * from pools of the same size.
 */
export function benchmarkSingleAppends(url: string, concurrency: number, timing: Timing): Promise<Comparison> {
  const streamsOf = (side: string, round: number) => `single-${side}-c${concurrency}-r${round}-w`;
  const prefix = (side: string, round: number, worker: number) => `${streamsOf(side, round)}${worker}`;
  const checked = (side: string, table: string, round: number, measure: (tally: { units: number }) => Promise<Throughput>) =>
    countedRound(url, { table, streamPrefix: streamsOf(side, round), what: 'single appends' }, measure);
  return compareInterleaved(
    `append 1 event at its expected version, 10% to new streams, concurrency ${concurrency} (baseline: single-row INSERT)`,
    'events/s',
    (round) =>
      checked('s', 'events', round, (tally) =>
        withEventStore(url, concurrency, (store) =>
          measureThroughputAndCpu({ ...timing, concurrency, createWorker: (worker) => tallied(appendWithStore(store, prefix('s', round, worker), worker + 1), tally) }),
        ),
      ),
    (round) =>
      checked('b', 'baseline_events', round, (tally) =>
        withPlainPool(url, concurrency, (pool) =>
          measureThroughputAndCpu({ ...timing, concurrency, createWorker: (worker) => tallied(insertWithBaseline(pool, prefix('b', round, worker), worker + 1), tally) }),
        ),
      ),
  );
}
