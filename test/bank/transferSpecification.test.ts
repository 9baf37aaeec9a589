import { describe, expect, it } from 'vitest';
import { specification } from '../../core/aggregates';
import { MAX_AMOUNT, transfer, type TransferCommand, type TransferEvent, type TransferRule } from '../../core/bank';
import {
  completeTransfer,
  historyOf,
  recordCredit,
  recordCreditFailure,
  recordDebit,
  recordDebitFailure,
  recordRefund,
  requestTransfer,
  terms,
  transferCompleted,
  transferCreditFailed,
  transferCredited,
  transferDebitFailed,
  transferDebited,
  transferRefunded,
  transferRequested,
} from './bankFixtures';

const spec = specification(transfer);
const refuses = (history: readonly TransferEvent[], command: TransferCommand, rule: TransferRule) =>
  spec.given(history).when(command).thenRejects(rule);

describe('requesting a transfer', () => {
  it('given nothing, when 2500 EUR is requested from alice to bob, then TransferRequested with its terms', () => {
    const state = spec.given([]).when(requestTransfer()).thenEvents([transferRequested]);
    expect(state).toEqual({ status: 'requested', ...terms });
  });

  it('when requested from an account to itself, then SAME_ACCOUNT_TRANSFER', () => {
    refuses([], requestTransfer({ toAccountId: 'alice' }), 'SAME_ACCOUNT_TRANSFER');
  });

  it.each([0, -5, 2.5, Number.NaN])('when the amount is %s, then INVALID_AMOUNT', (amount) => {
    refuses([], requestTransfer({ amount }), 'INVALID_AMOUNT');
  });

  it('when the amount is one above the maximum, then AMOUNT_TOO_LARGE', () => {
    refuses([], requestTransfer({ amount: MAX_AMOUNT + 1 }), 'AMOUNT_TOO_LARGE');
  });

  it('when the currency is "Eur", then INVALID_CURRENCY', () => {
    refuses([], requestTransfer({ currency: 'Eur' }), 'INVALID_CURRENCY');
  });

  it('given a requested transfer, when requested again, then TRANSFER_ALREADY_EXISTS', () => {
    refuses(historyOf.requested, requestTransfer(), 'TRANSFER_ALREADY_EXISTS');
  });
});

describe('the happy path: requested, debited, credited, completed', () => {
  it('given a requested transfer, when the debit is recorded, then TransferDebited', () => {
    expect(spec.given(historyOf.requested).when(recordDebit).thenEvents([transferDebited]).status).toBe('debited');
  });

  it('given a debited transfer, when the credit is recorded, then TransferCredited', () => {
    expect(spec.given(historyOf.debited).when(recordCredit).thenEvents([transferCredited]).status).toBe('credited');
  });

  it('given a credited transfer, when completed, then TransferCompleted, keeping its terms', () => {
    const state = spec.given(historyOf.credited).when(completeTransfer).thenEvents([transferCompleted]);
    expect(state).toEqual({ status: 'completed', ...terms });
  });
});

describe('failures', () => {
  it('given a requested transfer, when the debit is refused, then TransferDebitFailed and the transfer failed', () => {
    const state = spec
      .given(historyOf.requested)
      .when(recordDebitFailure('INSUFFICIENT_FUNDS'))
      .thenEvents([transferDebitFailed('INSUFFICIENT_FUNDS')]);
    expect(state).toEqual({ status: 'failed', ...terms, reason: 'INSUFFICIENT_FUNDS' });
  });

  it('given a debited transfer, when the credit is refused, then TransferCreditFailed and the transfer compensates', () => {
    const state = spec
      .given(historyOf.debited)
      .when(recordCreditFailure('ACCOUNT_CLOSED'))
      .thenEvents([transferCreditFailed('ACCOUNT_CLOSED')]);
    expect(state).toEqual({ status: 'compensating', ...terms, reason: 'ACCOUNT_CLOSED' });
  });

  it('given a compensating transfer, when the refund is recorded, then TransferRefunded, keeping the reason', () => {
    const state = spec.given(historyOf.compensating).when(recordRefund).thenEvents([transferRefunded]);
    expect(state).toEqual({ status: 'refunded', ...terms, reason: 'ACCOUNT_CLOSED' });
  });
});

describe('illegal transitions', () => {
  it('given a requested transfer, when crediting before debiting, then ILLEGAL_TRANSFER_TRANSITION', () => {
    const error = refuses(historyOf.requested, recordCredit, 'ILLEGAL_TRANSFER_TRANSITION');
    expect(error.details).toEqual({ status: 'requested', command: 'RecordCredit' });
  });

  it('given no transfer, when a debit is recorded, then TRANSFER_NOT_FOUND', () => {
    refuses([], recordDebit, 'TRANSFER_NOT_FOUND');
  });

  it('given a completed transfer, when refunded, then TRANSFER_ALREADY_FINISHED', () => {
    refuses(historyOf.completed, recordRefund, 'TRANSFER_ALREADY_FINISHED');
  });
});

describe('history', () => {
  it('given a step before TransferRequested, the stream is corrupt and loading fails loudly', () => {
    expect(() => spec.given([transferDebited])).toThrow(/Corrupt transfer stream: TransferDebited before TransferRequested/);
  });

  it('given a refund without a failed credit, the stream is corrupt', () => {
    expect(() => spec.given([transferRequested, transferRefunded])).toThrow(/Corrupt transfer stream: TransferRefunded on a requested/);
  });
});

