import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandBus } from '../../core/commands';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type EventStore } from '../../core/eventstore';
import { getProcessorStatus } from '../../core/processing';
import { createSagaRuntime, defineSaga, readSagaInstance, sagaCounts, watchTimeouts, type IgnoredInput, type Saga } from '../../core/sagas';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

type OrderEvent =
  | { type: 'OrderOpened'; data: { orderId: string } }
  | { type: 'ItemAdded'; data: { orderId: string } }
  | { type: 'OrderClosed'; data: { orderId: string } };
type NoCommand = { type: 'Nothing'; payload: object };
type NoTimeout = { type: 'Never'; data: object };

const byOrder = (event: { data: { orderId: string } }) => event.data.orderId;

/** Version 1 counted items in `count`. */
const tallyV1 = defineSaga<OrderEvent, { count: number }, NoCommand, NoTimeout>()({
  name: 'tally',
  stateVersion: 1,
  on: {
    OrderOpened: { correlate: byOrder, start: () => ({ state: { count: 0 } }) },
    ItemAdded: { correlate: byOrder, handle: (_event, state) => ({ state: { count: state.count + 1 } }) },
    OrderClosed: { correlate: byOrder, handle: (_event, state) => ({ state, outcome: 'complete' }) },
  },
  timeouts: { Never: (_timeout, state) => ({ state }) },
});

/** Version 2 keeps `items` and a `since` field; instances in flight are upgraded as they are loaded. */
interface TallyV2 {
  items: number;
  since: string;
}
const tallyV2 = defineSaga<OrderEvent, TallyV2, NoCommand, NoTimeout>()({
  name: 'tally',
  stateVersion: 2,
  upgradeState: (stored, version) => {
    if (version !== 1) throw new Error(`no upgrade from version ${String(version)}`);
    return { items: (stored as { count: number }).count, since: 'v1' };
  },
  on: {
    OrderOpened: { correlate: byOrder, start: () => ({ state: { items: 0, since: 'v2' } }) },
    ItemAdded: { correlate: byOrder, handle: (_event, state) => ({ state: { ...state, items: state.items + 1 } }) },
    OrderClosed: { correlate: byOrder, handle: (_event, state) => ({ state, outcome: 'complete' }) },
  },
  timeouts: { Never: (_timeout, state) => ({ state }) },
});

/** Reminds once, a second after an order opens. */
const reminder = defineSaga<Extract<OrderEvent, { type: 'OrderOpened' }>, { reminded: boolean }, NoCommand, { type: 'Remind'; data: object }>()({
  name: 'reminder',
  stateVersion: 1,
  on: { OrderOpened: { correlate: byOrder, start: () => ({ state: { reminded: false }, schedule: [{ timeout: { type: 'Remind', data: {} }, afterMs: 1_000 }] }) } },
  timeouts: { Remind: () => ({ state: { reminded: true }, outcome: 'complete' }) },
});

/** Waits until `holder` holds the sweepers' watch (its lease), for at most 10 s. */
async function untilWatching(db: Db, holder: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    const { rows } = await db.query("SELECT 1 FROM partition_leases WHERE lease_group = 'saga-sweeper' AND holder = $1 AND expires_at > now()", [holder]);
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${holder} never took the watch`);
}

describe('saga instances on PostgreSQL', () => {
  let database: TestDatabase;
  let db: Db;
  let store: EventStore;
  const ignored: IgnoredInput[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createPgDb({ connectionString: database.url, max: 4 });
    store = createEventStore(db);
  });
  afterAll(async () => {
    await db.close();
    await database.drop();
  });

  const runtimeOf = (saga: Saga) =>
    createSagaRuntime({ db, bus: createCommandBus({ db, commands: [] }), sagas: [saga], upcaster: NO_UPCASTING, onIgnored: (input) => ignored.push(input) });
  const append = (orderId: string, type: OrderEvent['type']) =>
    store.appendToStream({ streamId: `order-${orderId}-${type}-${String(Math.random())}`, streamType: 'order', expectedVersion: 'no_stream', events: [{ type, data: { orderId } }] });
  /**
   * Runs the saga's processor until it has read every committed event: another
   * file's open transaction can hold the feed back a moment.
   */
  const run = async (saga: Saga) => {
    const runtime = runtimeOf(saga);
    const runs = [];
    for (let attempt = 0; attempt < 200; attempt += 1) {
      runs.push(...(await runtime.run({ holder: 'test', deadline: Date.now() + 10_000 })));
      const partitions = await Promise.all(runtime.processors.map((processor) => getProcessorStatus(db, processor)));
      if (runs.some((one) => one.failures.length > 0) || partitions.flat().every((partition) => partition.lagItems === 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return [{ failures: runs.flatMap((one) => one.failures) }];
  };
  const stateOf = async (orderId: string) => (await readSagaInstance(db, 'tally', orderId))?.state;

  it('counts and reports events for unknown or finished instances, and a second start, and goes on with the rest', async () => {
    await append('ghost', 'ItemAdded');
    await append('o1', 'OrderOpened');
    await append('o1', 'OrderOpened');
    await append('o1', 'ItemAdded');
    await append('o1', 'OrderClosed');
    await append('o1', 'ItemAdded');
    const runs = await run(tallyV1);
    expect(runs[0]?.failures).toEqual([]);
    // Partitions run side by side: the order across instances is theirs.
    expect(ignored.map((input) => [input.sagaId, input.reason, input.input.type]).sort()).toEqual([
      ['ghost', 'no_instance', 'ItemAdded'],
      ['o1', 'duplicate_start', 'OrderOpened'],
      ['o1', 'finished', 'ItemAdded'],
    ]);
    expect(await stateOf('o1')).toEqual({ count: 1 });
    const [counts] = await sagaCounts(db, ['tally'], { now: new Date(), overdueGraceMs: 0 });
    expect(counts).toMatchObject({ saga: 'tally', completed: 1, unmatched: 3 });
  });

  it('upgrades the stored state of an instance in flight when a new definition loads it', async () => {
    await append('o2', 'OrderOpened');
    await append('o2', 'ItemAdded');
    await append('o2', 'ItemAdded');
    await run(tallyV1);
    expect(await readSagaInstance(db, 'tally', 'o2')).toMatchObject({ state: { count: 2 }, stateVersion: 1, phase: 'running' });

    await append('o2', 'ItemAdded');
    await run(tallyV2);
    expect(await readSagaInstance(db, 'tally', 'o2')).toMatchObject({ state: { items: 3, since: 'v1' }, stateVersion: 2 });
  });

  it('an older definition meeting a state written by a newer one stops on it, visibly, rather than misread it', async () => {
    await append('o2', 'ItemAdded');
    const runs = await run(tallyV1);
    expect(runs[0]?.failures[0]?.error.cause).toMatchObject({ code: 'SAGA_STATE_TOO_NEW' });
    const [processor] = runtimeOf(tallyV1).processors;
    if (!processor) throw new Error('the tally saga has a processor');
    const partitions = await getProcessorStatus(db, processor);
    expect(partitions.some((partition) => partition.lastError?.includes('state version 2'))).toBe(true);
    expect(await readSagaInstance(db, 'tally', 'o2')).toMatchObject({ state: { items: 3 }, stateVersion: 2 });
  });

  it('a watching sweeper fires a timeout as it comes due; a second sweeper meanwhile sweeps once and leaves', async () => {
    const runtime = runtimeOf(reminder);
    await append('r1', 'OrderOpened');
    // One run, so it must find the order: another file's open transaction can hold the feed back a moment.
    await untilFeedHorizonPasses(db);
    await runtime.run({ holder: 'test', deadline: Date.now() + 10_000 });
    const scheduled = await readSagaInstance(db, 'reminder', 'r1');
    expect(scheduled?.timeouts).toHaveLength(1);
    const dueAt = new Date(scheduled?.timeouts[0]?.dueAt ?? 0).getTime();

    const watching = runtime.watch({ holder: 'watcher-a', deadline: Date.now() + 4_000, pollMs: 100 });
    // Once watcher-a holds the watch: on a loaded runner its first sweep can take a while.
    await untilWatching(db, 'watcher-a');
    expect(await runtime.watch({ holder: 'watcher-b', deadline: Date.now() + 4_000, pollMs: 100 })).toMatchObject({ watched: false, fired: 0 });
    // Orders opened earlier in this file started reminders too: each fires.
    const watched = await watching;
    expect(watched.watched).toBe(true);
    expect(watched.fired).toBeGreaterThanOrEqual(1);

    const fired = await readSagaInstance(db, 'reminder', 'r1');
    expect(fired).toMatchObject({ phase: 'completed', state: { reminded: true }, timeouts: [] });
    const firedAt = new Date(fired?.inputs.find((input) => input.kind === 'timeout')?.at ?? 0).getTime();
    // Within a poll of its due time, with room for a loaded runner.
    expect(firedAt - dueAt).toBeLessThan(2_000);
    expect(firedAt).toBeGreaterThanOrEqual(dueAt - 50);
  }, 20_000);

  it('a sweeper watching until a deadline a month away (a long-running one, outside Lambda) takes the watch and keeps sweeping', async () => {
    let sweeps = 0;
    let stopped = false;
    const sweep = async () => {
      sweeps += 1;
      if (stopped) throw new Error('stopped by the spec');
      return Promise.resolve({ fired: 0, ignored: 0, redriven: 0 });
    };
    const watching = watchTimeouts(sweep, { db, holder: 'long-watcher', deadline: Date.now() + 30 * 24 * 3_600_000, pollMs: 50 });
    await untilWatching(db, 'long-watcher');
    stopped = true;

    await expect(watching).rejects.toThrow('stopped by the spec');
    expect(sweeps).toBeGreaterThan(1);
  });
});
