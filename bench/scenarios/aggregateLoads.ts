import { createRepository, type SnapshotPolicy } from '../../core/aggregates';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore, type EventStore } from '../../core/eventstore';
import { defineAccount, type AccountState } from '../../test/support/accountAggregate';
import { accountUpcasters } from '../../test/support/accountUpcasters';
import type { AggregateMeasurement, RatioTarget } from '../support/aggregateTargets';
import type { BenchResult } from '../support/benchResult';
import { measureThroughput, type Timing } from '../support/measureThroughput';
import { givenAccount, givenAccountBehindSnapshot, type AccountRepository, type PreparedAccount } from './accountStreams';

export interface LoadScenario {
  /** Event counts of the accounts loaded; the smallest is every row's baseline. */
  sizes: readonly number[];
  snapshots: SnapshotPolicy<AccountState>;
  /** Only the largest accounts loaded from a snapshot have a target: loading one may cost at most this ratio. */
  snapshotTarget: RatioTarget;
  /** The worst case is also loaded: the largest account with this many events past its snapshot. */
  behindSnapshot: number;
  /** Per round; each account is loaded in two rounds per setting. */
  timing: Timing;
}

interface Setting {
  label: string;
  repository: AccountRepository;
  /** The snapshot version a load of `account` must start from under this setting. */
  expectedSnapshot: (account: PreparedAccount) => number;
}

/**
 * Times `repository.load` of account aggregates of each size, rebuilt from
 * every event and (same streams) through a snapshot-enabled repository.
 * Each row is compared with the smallest account under the same setting.
 */
export async function benchmarkAggregateLoads(url: string, scenario: LoadScenario): Promise<AggregateMeasurement[]> {
  // One connection, as a Lambda instance serving one request at a time holds.
  const db = createPgDb({ connectionString: url, max: 1 });
  try {
    // The account's real store: new events are written at their current schema version, so upcasting is a lookup.
    const store = createEventStore(db, { upcaster: accountUpcasters });
    const snapshotted = createRepository(db, store, defineAccount(scenario.snapshots), { snapshotBudgetMs: 10_000 });
    const setup = {
      db,
      store,
      snapshotted,
      snapshotEvery: scenario.snapshots.every,
      snapshotSchemaVersion: scenario.snapshots.schemaVersion,
    };
    const accounts: PreparedAccount[] = [];
    const sizes = [...scenario.sizes].sort((a, b) => a - b);
    for (const size of sizes) accounts.push(await givenAccount(setup, size));
    accounts.push(await givenAccountBehindSnapshot(setup, sizes[sizes.length - 1] ?? 0, scenario.behindSnapshot));
    // Settles the new rows (hint bits, statistics) before timing, rather than during the first rows measured.
    await db.query('VACUUM ANALYZE events, snapshots');
    const settings = createSettings(db, scenario.snapshots, snapshotted, store);
    const rows: AggregateMeasurement[] = [];
    for (const setting of settings) rows.push(...(await measureSetting(setting, accounts, scenario)));
    return rows;
  } finally {
    await db.close();
  }
}

function createSettings(
  db: Db,
  snapshots: SnapshotPolicy<AccountState>,
  snapshotted: AccountRepository,
  store: EventStore,
): Setting[] {
  return [
    {
      label: 'no snapshots',
      repository: createRepository(db, store, defineAccount()),
      expectedSnapshot: () => 0,
    },
    {
      label: `snapshots every ${snapshots.every}`,
      repository: snapshotted,
      expectedSnapshot: (account) => account.snapshotVersion,
    },
  ];
}

/**
 * Round 1 loads the accounts smallest first, round 2 largest first, so the
 * baseline is timed at both ends and a slow drift weighs on every row alike.
 */
async function measureSetting(
  setting: Setting,
  accounts: readonly PreparedAccount[],
  scenario: LoadScenario,
): Promise<AggregateMeasurement[]> {
  const timeEach = async (ordered: readonly PreparedAccount[]) => {
    const times: number[] = [];
    for (const account of ordered) times.push(await msPerLoad(setting, account, scenario.timing));
    return times;
  };
  const first = await timeEach(accounts);
  const second = (await timeEach([...accounts].reverse())).reverse();
  const rounds = (index: number): [number, number] => [first[index] ?? NaN, second[index] ?? NaN];
  const baseline = rounds(0);
  const largest = Math.max(...scenario.sizes);
  return accounts.map((account, index) => {
    const measured = rounds(index);
    const hasTarget = account.events >= largest && setting.expectedSnapshot(account) > 0;
    return {
      result: loadResult(rowName(setting, account), mean(measured), mean(baseline)),
      better: 'lower',
      spread: Math.max(relativeDifference(measured), relativeDifference(baseline)),
      ...(hasTarget ? { target: scenario.snapshotTarget } : {}),
    };
  });
}

/** Loads one account in a closed loop; every load is checked, so a wrong or short load cannot look fast. */
async function msPerLoad(setting: Setting, account: PreparedAccount, timing: Timing): Promise<number> {
  const expectedSnapshot = setting.expectedSnapshot(account);
  const loadsPerSecond = await measureThroughput({
    ...timing,
    concurrency: 1,
    createWorker: () => async () => {
      const loaded = await setting.repository.load(account.id);
      if (loaded.version !== account.events || loaded.snapshotVersion !== expectedSnapshot) {
        throw new Error(
          `loaded version ${loaded.version} from snapshot ${loaded.snapshotVersion}, expected ${account.events} from ${expectedSnapshot}`,
        );
      }
      return 1;
    },
  });
  console.error(`  ${rowName(setting, account)}: ${(1000 / loadsPerSecond).toFixed(3)} ms`);
  return 1000 / loadsPerSecond;
}

function rowName(setting: Setting, account: PreparedAccount): string {
  const snapshot = setting.expectedSnapshot(account);
  const from = snapshot > 0 ? `, from snapshot at v${snapshot}` : '';
  return `load ${account.events}-event account, ${setting.label}${from}`;
}

// benchResult rounds to integers, which would erase sub-millisecond load times.
function loadResult(name: string, valueMs: number, baselineMs: number): BenchResult {
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return {
    name,
    value: round(valueMs),
    unit: 'ms/load',
    baseline: round(baselineMs),
    ratio: Math.round((valueMs / baselineMs) * 100) / 100,
  };
}

const mean = ([a, b]: [number, number]) => (a + b) / 2;
const relativeDifference = ([a, b]: [number, number]) => Math.abs(a - b) / ((a + b) / 2);
