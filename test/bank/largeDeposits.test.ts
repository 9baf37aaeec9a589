import { expect, it } from 'vitest';
import { bankService } from '../../core/bank';
import { LARGE_DEPOSIT, LARGE_DEPOSIT_SUBJECT } from '../../core/bank/largeDeposits';
import { createCommandBus } from '../../core/commands';
import { serviceCommandDefinitions } from '../../core/service';
import { describeOnEachDriver } from '../support/describeOnEachDriver';

describeOnEachDriver('large deposits reported to compliance', (context) => {
  const bus = () => createCommandBus({ db: context().db, commands: serviceCommandDefinitions(bankService, context().db, context().store) });
  const reports = async (accountId: string) =>
    (
      await context().db.query<{ subject: string; body: unknown }>(
        'SELECT subject, payload AS body FROM outbox WHERE ordering_key = $1 ORDER BY id',
        [accountId],
      )
    ).rows;

  it('given an open account, a deposit of the threshold or more writes a report with it; a smaller one writes none', async () => {
    const accountId = crypto.randomUUID();
    await bus().execute({ type: 'OpenAccount', payload: { accountId, owner: 'ada', currency: 'EUR' } });
    await bus().execute({ type: 'Deposit', payload: { accountId, amount: LARGE_DEPOSIT - 1 } });
    await bus().execute({ type: 'Deposit', payload: { accountId, amount: LARGE_DEPOSIT } });
    expect(await reports(accountId)).toEqual([{ subject: LARGE_DEPOSIT_SUBJECT, body: { accountId, amount: LARGE_DEPOSIT } }]);
  });

  it('a refused deposit reports nothing', async () => {
    const accountId = crypto.randomUUID();
    await bus().execute({ type: 'OpenAccount', payload: { accountId, owner: 'ada', currency: 'EUR' } });
    await expect(bus().execute({ type: 'Deposit', payload: { accountId, amount: LARGE_DEPOSIT, currency: 'USD' } })).rejects.toMatchObject({ rule: 'CURRENCY_MISMATCH' });
    expect(await reports(accountId)).toEqual([]);
  });
});
