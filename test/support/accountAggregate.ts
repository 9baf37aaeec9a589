import { DomainError, defineAggregate, type SnapshotPolicy } from '../../core/aggregates';

/** A bank account, the aggregate the aggregate and upcasting specs drive. */
export type AccountEvent =
  | { type: 'AccountOpened'; data: { owner: string; currency: string } }
  | { type: 'MoneyDeposited'; data: { amount: number; currency: string } }
  | { type: 'MoneyWithdrawn'; data: { amount: number } }
  | { type: 'AccountClosed'; data: Record<string, never> };

export type AccountCommand =
  | { type: 'OpenAccount'; data: { owner: string; currency: string } }
  | { type: 'Deposit'; data: { amount: number } }
  | { type: 'Withdraw'; data: { amount: number } }
  | { type: 'CloseAccount'; data: Record<string, never> };

export interface AccountState {
  status: 'new' | 'open' | 'closed';
  owner: string;
  currency: string;
  balance: number;
  movements: number;
}

const mustBeOpen = (state: AccountState) => {
  if (state.status !== 'open') throw new DomainError('ACCOUNT_NOT_OPEN', `the account is ${state.status}`);
};

export const defineAccount = (snapshots?: SnapshotPolicy<AccountState>) =>
  defineAggregate<AccountState, AccountEvent, AccountCommand>({
    streamType: 'account',
    initialState: () => ({ status: 'new', owner: '', currency: '', balance: 0, movements: 0 }),
    evolve: {
      AccountOpened: (state, { data }) => ({ ...state, status: 'open', owner: data.owner, currency: data.currency }),
      MoneyDeposited: (state, { data }) => ({ ...state, balance: state.balance + data.amount, movements: state.movements + 1 }),
      MoneyWithdrawn: (state, { data }) => ({ ...state, balance: state.balance - data.amount, movements: state.movements + 1 }),
      AccountClosed: (state) => ({ ...state, status: 'closed' }),
    },
    decide: {
      OpenAccount: ({ data }, state) => {
        if (state.status !== 'new') throw new DomainError('ACCOUNT_EXISTS', 'the account is already open');
        return { type: 'AccountOpened', data };
      },
      Deposit: ({ data }, state) => {
        mustBeOpen(state);
        if (data.amount <= 0) throw new DomainError('AMOUNT_NOT_POSITIVE', 'deposits must be positive');
        return [{ type: 'MoneyDeposited', data: { amount: data.amount, currency: state.currency } }];
      },
      Withdraw: ({ data }, state) => {
        mustBeOpen(state);
        if (data.amount > state.balance) {
          throw new DomainError('INSUFFICIENT_FUNDS', 'no overdraft', { balance: state.balance, requested: data.amount });
        }
        return [{ type: 'MoneyWithdrawn', data }];
      },
      CloseAccount: (_command, state) => (state.status === 'closed' ? [] : [{ type: 'AccountClosed', data: {} }]),
    },
    ...(snapshots ? { snapshots } : {}),
  });

export const account = defineAccount();

export const open = (owner = 'ada'): AccountCommand => ({ type: 'OpenAccount', data: { owner, currency: 'EUR' } });
export const deposit = (amount: number): AccountCommand => ({ type: 'Deposit', data: { amount } });
export const withdraw = (amount: number): AccountCommand => ({ type: 'Withdraw', data: { amount } });
