import type {
  AccountCommand,
  AccountEvent,
  MovementOptions,
  TransferCommand,
  TransferEvent,
  TransferStatus,
  TransferTerms,
} from '../../core/bank';

/** Commands and events of the bank domain, named as the specifications read. */

export const openAccount = (owner = 'ada', currency = 'EUR'): AccountCommand => ({ type: 'OpenAccount', data: { owner, currency } });
export const deposit = (amount: number, options: MovementOptions = {}): AccountCommand => ({
  type: 'Deposit',
  data: { amount, ...options },
});
export const withdraw = (amount: number, options: MovementOptions = {}): AccountCommand => ({
  type: 'Withdraw',
  data: { amount, ...options },
});
export const closeAccount: AccountCommand = { type: 'CloseAccount', data: {} };

export const accountOpened = (owner = 'ada', currency = 'EUR'): AccountEvent => ({ type: 'AccountOpened', data: { owner, currency } });
export const deposited = (amount: number, transferId?: string): AccountEvent => ({
  type: 'MoneyDeposited',
  data: transferId === undefined ? { amount } : { amount, transferId },
});
export const withdrawn = (amount: number, transferId?: string): AccountEvent => ({
  type: 'MoneyWithdrawn',
  data: transferId === undefined ? { amount } : { amount, transferId },
});
export const accountClosed: AccountEvent = { type: 'AccountClosed', data: {} };

export const terms: TransferTerms = { fromAccountId: 'alice', toAccountId: 'bob', amount: 2_500, currency: 'EUR' };

export const requestTransfer = (overrides: Partial<TransferTerms> = {}): TransferCommand => ({
  type: 'RequestTransfer',
  data: { ...terms, ...overrides },
});
export const recordDebit: TransferCommand = { type: 'RecordDebit', data: {} };
export const recordDebitFailure = (reason: string): TransferCommand => ({ type: 'RecordDebitFailure', data: { reason } });
export const recordCredit: TransferCommand = { type: 'RecordCredit', data: {} };
export const recordCreditFailure = (reason: string): TransferCommand => ({ type: 'RecordCreditFailure', data: { reason } });
export const completeTransfer: TransferCommand = { type: 'CompleteTransfer', data: {} };
export const recordRefund: TransferCommand = { type: 'RecordRefund', data: {} };

export const transferRequested: TransferEvent = { type: 'TransferRequested', data: terms };
export const transferDebited: TransferEvent = { type: 'TransferDebited', data: {} };
export const transferDebitFailed = (reason: string): TransferEvent => ({ type: 'TransferDebitFailed', data: { reason } });
export const transferCredited: TransferEvent = { type: 'TransferCredited', data: {} };
export const transferCreditFailed = (reason: string): TransferEvent => ({ type: 'TransferCreditFailed', data: { reason } });
export const transferCompleted: TransferEvent = { type: 'TransferCompleted', data: {} };
export const transferRefunded: TransferEvent = { type: 'TransferRefunded', data: {} };

/** A history that leaves a transfer in each status. */
export const historyOf: Record<TransferStatus, TransferEvent[]> = {
  unrequested: [],
  requested: [transferRequested],
  debited: [transferRequested, transferDebited],
  credited: [transferRequested, transferDebited, transferCredited],
  completed: [transferRequested, transferDebited, transferCredited, transferCompleted],
  failed: [transferRequested, transferDebitFailed('INSUFFICIENT_FUNDS')],
  compensating: [transferRequested, transferDebited, transferCreditFailed('ACCOUNT_CLOSED')],
  refunded: [transferRequested, transferDebited, transferCreditFailed('ACCOUNT_CLOSED'), transferRefunded],
};
