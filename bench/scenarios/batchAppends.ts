import type pg from 'pg';
import { newEventId, type EventStore } from '../../core/eventstore';
import { insertBaselineEvents } from '../support/baselineTables';
import { compareInterleaved, type Comparison } from '../support/compareInterleaved';
import { withEventStore, withPlainPool } from '../support/connections';
import { measureThroughputAndCpu, type Step, type Throughput, type Timing } from '../support/measureThroughput';
import { nextEvents, STREAM_TYPE } from '../support/sampleEvents';
import { countedRound, tallied } from '../support/writtenRows';

function appendWithStore(store: EventStore, streamId: string, size: number): Step {
  let version = 0;
  return async () => {
    const events = nextEvents(streamId, version, size);
    const result = await store.appendToStream({ streamId, streamType: STREAM_TYPE, expectedVersion: version, events });
    version = result.nextExpectedVersion;
    return events.length;
  };
}

function insertWithBaseline(pool: pg.Pool, streamId: string, size: number): Step {
  let version = 0;
  return async () => {
    const events = nextEvents(streamId, version, size).map((event) => ({
      type: event.type,
      data: JSON.stringify(event.data),
      metadata: JSON.stringify(event.metadata),
      eventId: newEventId(),
    }));
    await insertBaselineEvents(pool, { streamId, streamType: STREAM_TYPE, afterVersion: version }, events);
    version += events.length;
    return events.length;
  };
}

/**
 * Batches of events appended to a stream of each worker's own, at its exact
 * expected version, beside multi-row INSERTs of the same rows. Each round's
 * rows are counted afterwards against what its steps said they wrote.
 */
export function benchmarkBatchAppends(url: string, size: number, concurrency: number, timing: Timing): Promise<Comparison> {
  const streamsOf = (side: string, round: number) => `batch-${side}-r${round}-w`;
  const streamId = (side: string, round: number, worker: number) => `${streamsOf(side, round)}${worker}`;
  const checked = (side: string, table: string, round: number, measure: (tally: { units: number }) => Promise<Throughput>) =>
    countedRound(url, { table, streamPrefix: streamsOf(side, round), what: 'batch appends' }, measure);
  return compareInterleaved(
    `append ${size}-event batches, exact version, concurrency ${concurrency} (baseline: multi-row INSERT)`,
    'events/s',
    (round) =>
      checked('s', 'events', round, (tally) =>
        withEventStore(url, concurrency, (store) =>
          measureThroughputAndCpu({ ...timing, concurrency, createWorker: (worker) => tallied(appendWithStore(store, streamId('s', round, worker), size), tally) }),
        ),
      ),
    (round) =>
      checked('b', 'baseline_events', round, (tally) =>
        withPlainPool(url, concurrency, (pool) =>
          measureThroughputAndCpu({ ...timing, concurrency, createWorker: (worker) => tallied(insertWithBaseline(pool, streamId('b', round, worker), size), tally) }),
        ),
      ),
  );
}
