import { randomUUID } from 'node:crypto';
import type { NewEvent } from '../../core/eventstore';

/** A small domain used by the event-store specs. */
export type AccountEvent =
  | { type: 'AccountOpened'; data: { owner: string; currency: string } }
  | { type: 'MoneyDeposited'; data: { amount: number } }
  | { type: 'MoneyWithdrawn'; data: { amount: number } };

export const uniqueStreamId = (prefix = 'account'): string => `${prefix}-${randomUUID()}`;

export const opened = (owner = 'ada'): NewEvent<AccountEvent> => ({
  type: 'AccountOpened',
  data: { owner, currency: 'EUR' },
});

export const deposited = (amount: number): NewEvent<AccountEvent> => ({ type: 'MoneyDeposited', data: { amount } });

export const withdrawn = (amount: number): NewEvent<AccountEvent> => ({ type: 'MoneyWithdrawn', data: { amount } });

/** An account's first `count` events: opened, then deposits of 1, 2, 3 and on. */
export const openedThenDeposits = (count: number): NewEvent<AccountEvent>[] => [opened(), ...Array.from({ length: count - 1 }, (_, index) => deposited(index + 1))];

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise with its resolver outside, to hold a transaction open until a test says so. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}
