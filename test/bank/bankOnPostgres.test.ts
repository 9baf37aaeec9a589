import { expect, it } from 'vitest';
import { createRepository } from '../../core/aggregates';
import { account, transfer, type AccountEvent } from '../../core/bank';
import type { NewEvent } from '../../core/eventstore';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import {
  accountOpened,
  closeAccount,
  completeTransfer,
  deposit,
  deposited,
  openAccount,
  recordCredit,
  recordDebit,
  requestTransfer,
  withdraw,
} from './bankFixtures';

const newId = () => crypto.randomUUID();

describeOnEachDriver('the bank domain on PostgreSQL', (context) => {
  const accounts = () => createRepository(context().db, context().store, account);
  const transfers = () => createRepository(context().db, context().store, transfer);
  const eventTypes = async (streamId: string) => (await context().store.readStream(streamId)).events.map((event) => event.type);

  it('an account story: opened, funded, refused an overdraft, emptied and closed', async () => {
    const id = newId();
    await accounts().handle(id, openAccount('ada', 'EUR'));
    await accounts().handle(id, deposit(100));
    await accounts().handle(id, withdraw(30));
    await expect(accounts().handle(id, withdraw(100))).rejects.toMatchObject({ rule: 'INSUFFICIENT_FUNDS' });
    await accounts().handle(id, withdraw(70));
    const closed = await accounts().handle(id, closeAccount);

    expect(closed).toMatchObject({ version: 5, state: { status: 'closed', owner: 'ada', currency: 'EUR', balance: 0 } });
    expect(await eventTypes(closed.streamId)).toEqual(['AccountOpened', 'MoneyDeposited', 'MoneyWithdrawn', 'MoneyWithdrawn', 'AccountClosed']);
    await expect(accounts().handle(id, deposit(1))).rejects.toMatchObject({ rule: 'ACCOUNT_CLOSED' });
    expect(await accounts().load(id)).toMatchObject({ version: 5, state: closed.state });
  });

  it('a transfer driven step by step as the saga drives it: requested, source debited, destination credited, completed', async () => {
    const [alice, bob, transferId] = [newId(), newId(), newId()];
    await accounts().handle(alice, openAccount('alice', 'EUR'));
    await accounts().handle(alice, deposit(10_000));
    await accounts().handle(bob, openAccount('bob', 'EUR'));

    const { state } = await transfers().handle(transferId, requestTransfer({ fromAccountId: alice, toAccountId: bob, amount: 2_500 }));
    if (state.status !== 'requested') throw new Error(`the transfer is ${state.status}`);
    const { fromAccountId, toAccountId, amount, currency } = state;
    await accounts().handle(fromAccountId, withdraw(amount, { currency, transferId }));
    await transfers().handle(transferId, recordDebit);
    await accounts().handle(toAccountId, deposit(amount, { currency, transferId }));
    await transfers().handle(transferId, recordCredit);
    const completed = await transfers().handle(transferId, completeTransfer);

    expect(completed).toMatchObject({ streamId: `transfer-${transferId}`, version: 4, state: { status: 'completed', amount: 2_500 } });
    expect(await eventTypes(completed.streamId)).toEqual(['TransferRequested', 'TransferDebited', 'TransferCredited', 'TransferCompleted']);
    expect((await accounts().load(alice)).state).toMatchObject({ balance: 7_500 });
    expect((await accounts().load(bob)).state).toMatchObject({ balance: 2_500 });
    const credit = (await context().store.readStream(`account-${bob}`)).events[1];
    expect(credit).toMatchObject({ type: 'MoneyDeposited', data: { amount: 2_500, transferId } });
    await expect(transfers().handle(transferId, recordDebit)).rejects.toMatchObject({ rule: 'TRANSFER_ALREADY_FINISHED' });
  });

  it('an account past 100 events is snapshotted and loads from its snapshot to the same state', async () => {
    const id = newId();
    const history: NewEvent<AccountEvent>[] = [accountOpened(), ...Array.from({ length: 98 }, () => deposited(10))];
    await context().store.appendToStream({ streamId: `account-${id}`, streamType: 'account', expectedVersion: 'no_stream', events: history });
    const outcome = await accounts().handle(id, withdraw(80));

    const loaded = await accounts().load(id);
    expect(loaded).toMatchObject({ version: 100, snapshotVersion: 100 });
    expect(loaded.state).toEqual(outcome.state);
    expect(loaded.state).toEqual({ status: 'open', owner: 'ada', currency: 'EUR', balance: 900 });
  });
});
