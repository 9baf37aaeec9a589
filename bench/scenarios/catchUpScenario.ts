import type { AccountEvent } from '../../core/bank';
import type { NewEvent } from '../../core/eventstore';
import { withPlainPool } from '../support/connections';

export interface CatchUpScenario {
  accounts: number;
  eventsPerAccount: number;
  batchSize: number;
}

/** One account's events, as the catch-up's feed holds them: opened, then deposits with every third a withdrawal. */
export function accountHistory(owner: string, scenario: CatchUpScenario): NewEvent<AccountEvent>[] {
  const events: NewEvent<AccountEvent>[] = [{ type: 'AccountOpened', data: { owner, currency: 'EUR' } }];
  for (let n = 1; n < scenario.eventsPerAccount; n += 1) {
    events.push(n % 3 === 0 ? { type: 'MoneyWithdrawn', data: { amount: 10 } } : { type: 'MoneyDeposited', data: { amount: 25 } });
  }
  return events;
}

/** What every account's summary must hold once the whole feed is applied: its history folded. */
function expectedBalance(scenario: CatchUpScenario): number {
  let balance = 0;
  for (const event of accountHistory('', scenario)) {
    if (event.type === 'MoneyDeposited') balance += event.data.amount;
    else if (event.type === 'MoneyWithdrawn') balance -= event.data.amount;
  }
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
