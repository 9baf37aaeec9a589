import type pg from 'pg';
import type { EventStore } from '../../core/eventstore';
import { insertBaselineEvents } from '../support/baselineEvents';
import { compareInterleaved, type Comparison } from '../support/compareInterleaved';
import { withEventStore, withPlainPool } from '../support/connections';
import { measureThroughput, type Step, type Timing } from '../support/measureThroughput';
import { nextEvents, STREAM_TYPE } from '../support/sampleEvents';

export interface AppendScenario {
  eventsPerAppend: number;
  concurrency: number;
  /** Per round; each side runs two rounds. */
  timing: Timing;
}

/**
 * Each worker appends to its own stream with the exact expected version, so
 * there are no conflicts: this is the cost of an append, not of contention.
 * Both sides write the same streams, versions and payloads, from pools of the same size.
 */
export async function benchmarkAppends(url: string, scenario: AppendScenario): Promise<Comparison> {
  const { eventsPerAppend, concurrency, timing } = scenario;
  const streamIds = (round: number) => (worker: number) =>
    `account-b${eventsPerAppend}-c${concurrency}-r${round}-w${worker}`;
  const what = eventsPerAppend === 1 ? 'append 1 event' : `append ${eventsPerAppend}-event batches`;
  return compareInterleaved(
    `${what}, exact version, concurrency ${concurrency}`,
    'events/s',
    (round) =>
      withEventStore(url, concurrency, (store) =>
        measureThroughput({
          ...timing,
          concurrency,
          createWorker: (worker) => appendWithStore(store, streamIds(round)(worker), eventsPerAppend),
        }),
      ),
    (round) =>
      withPlainPool(url, concurrency, (pool) =>
        measureThroughput({
          ...timing,
          concurrency,
          createWorker: (worker) => insertWithBaseline(pool, streamIds(round)(worker), eventsPerAppend),
        }),
      ),
  );
}

function appendWithStore(store: EventStore, streamId: string, eventsPerAppend: number): Step {
  let version = 0;
  return async () => {
    const events = nextEvents(streamId, version, eventsPerAppend);
    const result = await store.appendToStream({ streamId, streamType: STREAM_TYPE, expectedVersion: version, events });
    version = result.nextExpectedVersion;
    return events.length;
  };
}

function insertWithBaseline(pool: pg.Pool, streamId: string, eventsPerAppend: number): Step {
  let version = 0;
  return async () => {
    const events = nextEvents(streamId, version, eventsPerAppend);
    await insertBaselineEvents(pool, streamId, version, events);
    version += events.length;
    return events.length;
  };
}
