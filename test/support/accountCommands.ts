import { z } from 'zod';
import { createRepository } from '../../core/aggregates';
import { commandsFor, type CommandDefinition } from '../../core/commands';
import type { Db } from '../../core/db';
import type { EventStore } from '../../core/eventstore';
import { account } from './accountAggregate';

const AccountId = z.uuid();

/** The test account's commands, as the bus runs them. */
export function accountCommands(db: Db, store: EventStore): CommandDefinition[] {
  const accounts = commandsFor(createRepository(db, store, account));
  return [
    accounts.define({
      type: 'OpenAccount',
      schema: z.object({ accountId: AccountId, owner: z.string().min(1), currency: z.string().regex(/^[A-Z]{3}$/) }),
      aggregateId: (payload) => payload.accountId,
      toCommand: ({ owner, currency }) => ({ type: 'OpenAccount', data: { owner, currency } }),
    }),
    accounts.define({
      type: 'Deposit',
      schema: z.object({ accountId: AccountId, amount: z.number().int().positive() }),
      aggregateId: (payload) => payload.accountId,
      toCommand: ({ amount }) => ({ type: 'Deposit', data: { amount } }),
    }),
    accounts.define({
      type: 'Withdraw',
      schema: z.object({ accountId: AccountId, amount: z.number().int().positive() }),
      aggregateId: (payload) => payload.accountId,
      toCommand: ({ amount }) => ({ type: 'Withdraw', data: { amount } }),
    }),
    accounts.define({
      type: 'CloseAccount',
      schema: z.object({ accountId: AccountId }),
      aggregateId: (payload) => payload.accountId,
      toCommand: () => ({ type: 'CloseAccount', data: {} }),
    }),
  ];
}
