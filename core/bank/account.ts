import { DomainError, defineAggregate } from '../aggregates';
import { accountSnapshots } from './accountSnapshots';
import {
  MAX_OWNER_LENGTH,
  type AccountCommand,
  type AccountDetails,
  type AccountEvent,
  type AccountState,
  type Movement,
  type MovementOptions,
} from './accountTypes';
import { MAX_BALANCE, checkAmount, checkCurrency } from './money';
import type { AccountRule } from './rules';

type OpenAccountState = Extract<AccountState, { status: 'open' }>;

const refuse = (rule: AccountRule, message: string, details?: Readonly<Record<string, unknown>>) =>
  new DomainError<AccountRule>(rule, message, details);

/** The account a movement or closing applies to: it must exist and be open. */
function requireOpen(state: AccountState): OpenAccountState {
  if (state.status === 'unopened') throw refuse('ACCOUNT_NOT_FOUND', 'no account was opened with this id');
  if (state.status === 'closed') throw refuse('ACCOUNT_CLOSED', 'the account is closed');
  return state;
}

/** Checks a Deposit's or Withdraw's payload and returns the open account it applies to. */
function acceptMovement(data: { amount: number } & MovementOptions, state: AccountState): OpenAccountState {
  checkAmount(data.amount);
  if (data.currency !== undefined) checkCurrency(data.currency);
  const account = requireOpen(state);
  if (data.currency !== undefined && data.currency !== account.currency) {
    throw refuse('CURRENCY_MISMATCH', `the account holds ${account.currency}, not ${data.currency}`, {
      accountCurrency: account.currency,
      currency: data.currency,
    });
  }
  return account;
}

const movement = ({ amount, transferId }: { amount: number } & MovementOptions): Movement =>
  transferId === undefined ? { amount } : { amount, transferId };

/** The details every event after AccountOpened builds on; a stream without AccountOpened is corrupt. */
function detailsOf(state: AccountState, eventType: AccountEvent['type']): AccountDetails & { status: 'open' | 'closed' } {
  if (state.status === 'unopened') throw new Error(`Corrupt account stream: ${eventType} before AccountOpened`);
  return state;
}

/**
 * A bank account holding one currency, in minor units. Opened once; deposits
 * and withdrawals never take the balance below 0; closed only when empty; a
 * closed account refuses every command (closing again included) with
 * ACCOUNT_CLOSED, and its id is never reused.
 */
export const account = defineAggregate<AccountState, AccountEvent, AccountCommand>({
  streamType: 'account',
  initialState: () => ({ status: 'unopened' }),
  evolve: {
    AccountOpened: (_state, { data }) => ({ status: 'open', owner: data.owner, currency: data.currency, balance: 0 }),
    MoneyDeposited: (state, { data }) => {
      const details = detailsOf(state, 'MoneyDeposited');
      return { ...details, balance: details.balance + data.amount };
    },
    MoneyWithdrawn: (state, { data }) => {
      const details = detailsOf(state, 'MoneyWithdrawn');
      return { ...details, balance: details.balance - data.amount };
    },
    AccountClosed: (state) => ({ ...detailsOf(state, 'AccountClosed'), status: 'closed' }),
  },
  decide: {
    OpenAccount: ({ data }, state) => {
      if (!/\S/.test(data.owner) || data.owner.length > MAX_OWNER_LENGTH) {
        throw refuse('INVALID_OWNER', `the owner must be a non-blank name of at most ${MAX_OWNER_LENGTH} characters`);
      }
      checkCurrency(data.currency);
      if (state.status === 'closed') throw refuse('ACCOUNT_CLOSED', 'the account is closed; its id is not reused');
      if (state.status === 'open') throw refuse('ACCOUNT_ALREADY_EXISTS', 'the account is already open');
      return { type: 'AccountOpened', data: { owner: data.owner, currency: data.currency } };
    },
    Deposit: ({ data }, state) => {
      const { balance } = acceptMovement(data, state);
      if (balance + data.amount > MAX_BALANCE) {
        throw refuse('BALANCE_LIMIT_EXCEEDED', `the balance may not exceed ${MAX_BALANCE}`, {
          balance,
          amount: data.amount,
          maximum: MAX_BALANCE,
        });
      }
      return { type: 'MoneyDeposited', data: movement(data) };
    },
    Withdraw: ({ data }, state) => {
      const { balance } = acceptMovement(data, state);
      if (data.amount > balance) {
        throw refuse('INSUFFICIENT_FUNDS', 'the balance does not cover the withdrawal', { balance, requested: data.amount });
      }
      return { type: 'MoneyWithdrawn', data: movement(data) };
    },
    CloseAccount: (_command, state) => {
      const { balance } = requireOpen(state);
      if (balance !== 0) throw refuse('BALANCE_NOT_ZERO', 'only an empty account can be closed', { balance });
      return { type: 'AccountClosed', data: {} };
    },
  },
  snapshots: accountSnapshots,
});
