import { DomainError, defineAggregate } from '../aggregates';
import { checkAmount, checkCurrency } from './money';
import type { TransferRule } from './rules';
import { requireTransition } from './transferLifecycle';
import type { TransferCommand, TransferEvent, TransferState, TransferTerms } from './transferTypes';

/** The terms every event after TransferRequested keeps; a stream without TransferRequested is corrupt. */
function termsOf(state: TransferState, eventType: TransferEvent['type']): TransferTerms {
  if (state.status === 'unrequested') throw new Error(`Corrupt transfer stream: ${eventType} before TransferRequested`);
  const { fromAccountId, toAccountId, amount, currency } = state;
  return { fromAccountId, toAccountId, amount, currency };
}

function failureReasonOf(state: TransferState, eventType: TransferEvent['type']): string {
  if (state.status !== 'compensating') throw new Error(`Corrupt transfer stream: ${eventType} on a ${state.status} transfer`);
  return state.reason;
}

/**
 * A money transfer between two accounts of one currency, as the transfer saga
 * drives it: the saga withdraws from the source and deposits to the destination
 * (passing the transfer's currency and id to both, so the accounts refuse a
 * currency mismatch) and records each outcome here. Every command is exactly
 * one transition of `TRANSFER_TRANSITIONS`; anything else is refused.
 */
export const transfer = defineAggregate<TransferState, TransferEvent, TransferCommand>({
  streamType: 'transfer',
  initialState: () => ({ status: 'unrequested' }),
  evolve: {
    TransferRequested: (_state, { data }) => ({ ...data, status: 'requested' }),
    TransferDebited: (state) => ({ ...termsOf(state, 'TransferDebited'), status: 'debited' }),
    TransferDebitFailed: (state, { data }) => ({ ...termsOf(state, 'TransferDebitFailed'), status: 'failed', reason: data.reason }),
    TransferCredited: (state) => ({ ...termsOf(state, 'TransferCredited'), status: 'credited' }),
    TransferCreditFailed: (state, { data }) => ({
      ...termsOf(state, 'TransferCreditFailed'),
      status: 'compensating',
      reason: data.reason,
    }),
    TransferCompleted: (state) => ({ ...termsOf(state, 'TransferCompleted'), status: 'completed' }),
    TransferRefunded: (state) => ({
      ...termsOf(state, 'TransferRefunded'),
      status: 'refunded',
      reason: failureReasonOf(state, 'TransferRefunded'),
    }),
  },
  decide: {
    RequestTransfer: ({ data }, state) => {
      checkAmount(data.amount);
      checkCurrency(data.currency);
      if (data.fromAccountId === data.toAccountId) {
        throw new DomainError<TransferRule>('SAME_ACCOUNT_TRANSFER', 'a transfer needs two different accounts', {
          accountId: data.fromAccountId,
        });
      }
      requireTransition(state, 'RequestTransfer');
      const { fromAccountId, toAccountId, amount, currency } = data;
      return { type: 'TransferRequested', data: { fromAccountId, toAccountId, amount, currency } };
    },
    RecordDebit: (_command, state) => {
      requireTransition(state, 'RecordDebit');
      return { type: 'TransferDebited', data: {} };
    },
    RecordDebitFailure: ({ data }, state) => {
      requireTransition(state, 'RecordDebitFailure');
      return { type: 'TransferDebitFailed', data: { reason: data.reason } };
    },
    RecordCredit: (_command, state) => {
      requireTransition(state, 'RecordCredit');
      return { type: 'TransferCredited', data: {} };
    },
    RecordCreditFailure: ({ data }, state) => {
      requireTransition(state, 'RecordCreditFailure');
      return { type: 'TransferCreditFailed', data: { reason: data.reason } };
    },
    CompleteTransfer: (_command, state) => {
      requireTransition(state, 'CompleteTransfer');
      return { type: 'TransferCompleted', data: {} };
    },
    RecordRefund: (_command, state) => {
      requireTransition(state, 'RecordRefund');
      return { type: 'TransferRefunded', data: {} };
    },
  },
});
