import { describe, expect, it } from 'vitest';
import { createRepository } from '../../core/aggregates';
import { account, bankProjections, createAccountQueries } from '../../core/bank';
import { createProjector } from '../../core/projections';
import { closeAccount, deposit, openAccount, withdraw } from '../bank/bankFixtures';
import { useProjectionDatabase } from './support/projectionDatabase';
import { runUntilNoLag } from './support/runUntilNoLag';

describe('the account read models', () => {
  const context = useProjectionDatabase();

  it('summarise each account (balance, status) and list its movements with the running balance', async () => {
    const { db, store } = context();
    const accounts = createRepository(db, store, account);
    await accounts.handle('ada', openAccount('Ada', 'EUR'));
    await accounts.handle('bob', openAccount('Bob', 'USD'));
    for (const command of [deposit(500), withdraw(200), deposit(50, { transferId: 't-1' }), withdraw(350), closeAccount]) {
      await accounts.handle('ada', command);
    }
    await accounts.handle('bob', deposit(70));
    await runUntilNoLag(db, createProjector({ db, projections: bankProjections }));
    const queries = createAccountQueries(db);

    expect(await queries.getAccountSummary('ada')).toMatchObject({ owner: 'Ada', currency: 'EUR', status: 'closed', balance: 0, version: 6 });
    expect(await queries.getAccountSummary('bob')).toMatchObject({ owner: 'Bob', currency: 'USD', status: 'open', balance: 70, version: 2 });
    expect(await queries.getAccountSummary('nobody')).toBeNull();

    const statement = await queries.getAccountStatement('ada', { limit: 50 });
    expect(statement?.lines.map(({ version, kind, amount, balanceAfter, transferId }) => [version, kind, amount, balanceAfter, transferId])).toEqual([
      [2, 'deposit', 500, 500, null],
      [3, 'withdrawal', 200, 300, null],
      [4, 'deposit', 50, 350, 't-1'],
      [5, 'withdrawal', 350, 0, null],
    ]);
    expect(statement?.nextCursor).toBeNull();
    expect(await queries.getAccountStatement('nobody', { limit: 50 })).toBeNull();
  });

  it('pages a statement by cursor, and carries the running balance across batches', async () => {
    const { db, store } = context();
    const accounts = createRepository(db, store, account);
    await accounts.handle('cyd', openAccount('Cyd'));
    const projector = createProjector({ db, projections: bankProjections });
    for (let index = 1; index <= 5; index += 1) {
      await accounts.handle('cyd', deposit(index * 10));
      await runUntilNoLag(db, projector);
    }
    const queries = createAccountQueries(db);

    const first = await queries.getAccountStatement('cyd', { limit: 2 });
    expect(first?.lines.map((entry) => entry.balanceAfter)).toEqual([10, 30]);
    const second = await queries.getAccountStatement('cyd', { limit: 2, after: first?.nextCursor ?? undefined });
    expect(second?.lines.map((entry) => entry.balanceAfter)).toEqual([60, 100]);
    const last = await queries.getAccountStatement('cyd', { limit: 2, after: second?.nextCursor ?? undefined });
    expect(last).toMatchObject({ currency: 'EUR', nextCursor: null });
    expect(last?.lines.map((entry) => entry.balanceAfter)).toEqual([150]);
  });
});
