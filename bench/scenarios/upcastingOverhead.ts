import { createPgDb } from '../../core/db';
import { createEventStore, NO_UPCASTING, START_OF_FEED, type EventStore, type RecordedEvent } from '../../core/eventstore';
import { accountUpcasters } from '../../test/support/accountUpcasters';
import type { AggregateMeasurement, RatioTarget } from '../support/aggregateTargets';
import { benchResult } from '../support/benchResult';
import type { Timing } from '../support/measureThroughput';
import { alternateRuns, halvesSpread, median } from './alternateRuns';
import { storeOldSchemaEvents } from './oldSchemaEvents';

export interface UpcastingScenario {
  eventCount: number;
  batchSize: number;
  target: RatioTarget;
  /** Whole scans alternate between the sides until the time is up; the warm-up's scans are not counted. */
  timing: Timing;
}

/** A page's events; the scan itself only counts them. */
type Visit = (events: readonly RecordedEvent[]) => void;

/**
 * Fills the feed with old-schema events, then reads all of it from the start
 * through a store with the account's upcaster chain and through one without,
 * alternating whole scans. Must run on a database whose feed holds only these events.
 */
export async function benchmarkUpcastingOverhead(url: string, scenario: UpcastingScenario): Promise<AggregateMeasurement> {
  const { batchSize, timing } = scenario;
  const db = createPgDb({ connectionString: url, max: 1 });
  try {
    const eventCount = await storeOldSchemaEvents(db, scenario.eventCount);
    // Both sides share one connection, so they differ only in the upcaster.
    const upcasting = createEventStore(db, { upcaster: accountUpcasters });
    const raw = createEventStore(db, { upcaster: NO_UPCASTING });
    await verifyUpcasting(upcasting, raw, batchSize, eventCount);
    const times = await alternateRuns(
      () => checkedScan(upcasting, batchSize, eventCount),
      () => checkedScan(raw, batchSize, eventCount),
      timing,
    );
    console.error(`  ${times.a.length} scans per side, median ${median(times.a).toFixed(0)} vs ${median(times.b).toFixed(0)} ms`);
    const rate = (ms: readonly number[]) => (eventCount * 1000) / median(ms);
    const name = `read feed of old-schema events with upcasters, batches of ${batchSize}`;
    return {
      result: benchResult(name, 'events/s', rate(times.a), rate(times.b)),
      spread: halvesSpread(times),
      better: 'higher',
      target: scenario.target,
    };
  } finally {
    await db.close();
  }
}

async function scanFeed(store: EventStore, batchSize: number, visit?: Visit): Promise<number> {
  let after = START_OF_FEED;
  let read = 0;
  for (;;) {
    const page = await store.readFeed({ after, batchSize });
    visit?.(page.events);
    read += page.events.length;
    if (page.caughtUp) return read;
    after = page.checkpoint;
  }
}

// readFeed stops below the oldest running transaction's id, so a long
// transaction anywhere on the server would silently shorten the scan.
async function checkedScan(store: EventStore, batchSize: number, expected: number): Promise<void> {
  const read = await scanFeed(store, batchSize);
  if (read !== expected) throw new Error(`feed scan read ${read} events, expected ${expected}`);
}

const isCurrentShape = (event: RecordedEvent) =>
  event.type !== 'FundsAdded' && (event.type !== 'MoneyDeposited' || event.schemaVersion === 4);

/** Proves, outside the timed scans, that one side really upcasts every old event and the other reads them raw. */
async function verifyUpcasting(upcasting: EventStore, raw: EventStore, batchSize: number, eventCount: number): Promise<void> {
  const countOld = async (store: EventStore) => {
    let old = 0;
    const read = await scanFeed(store, batchSize, (events) => {
      old += events.filter((event) => !isCurrentShape(event)).length;
    });
    if (read !== eventCount) throw new Error(`feed holds ${read} events, expected ${eventCount}`);
    return old;
  };
  const upcastOld = await countOld(upcasting);
  const rawOld = await countOld(raw);
  if (upcastOld !== 0) throw new Error(`${upcastOld} events still at an old schema after upcasting`);
  console.error(`  ${rawOld} of ${eventCount} feed events are stored at an old schema version`);
}
