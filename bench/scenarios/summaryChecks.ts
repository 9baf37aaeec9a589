import { withPlainPool } from '../support/connections';

export interface CatchUpScenario {
  accounts: number;
  eventsPerAccount: number;
  batchSize: number;
}

/** What every account's summary must hold once the whole feed is applied: fillAccounts' events folded. */
function expectedBalance(scenario: CatchUpScenario): number {
  let balance = 0;
  for (let n = 1; n < scenario.eventsPerAccount; n += 1) balance += n % 3 === 0 ? -10 : 25;
  return balance;
}

/** Fails the benchmark unless a side's table holds every account, at its last version, with its balance. */
export async function expectSummaries(url: string, side: string, table: string, scenario: CatchUpScenario): Promise<void> {
  const { rows } = await withPlainPool(url, 1, (pool) =>
    pool.query<{ accounts: number; folded: number }>(
      `SELECT count(*)::int AS accounts, count(*) FILTER (WHERE version = $1 AND balance = $2 AND status = 'open')::int AS folded FROM ${table}`,
      [scenario.eventsPerAccount, expectedBalance(scenario)],
    ),
  );
  const [found] = rows;
  if (found?.accounts !== scenario.accounts || found.folded !== scenario.accounts) {
    throw new Error(`${side} left ${JSON.stringify(found)} in ${table}, expected ${scenario.accounts} accounts, each folded to its last event`);
  }
}
