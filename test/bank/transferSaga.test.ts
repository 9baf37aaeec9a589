import { describe, it } from 'vitest';
import { defineTransferSaga } from '../../core/bank';
import { clockAdvances, feedEvent, sagaSpecification, stepRefused, stepSucceeded, timeoutFires } from '../../core/sagas';

const saga = defineTransferSaga({ timeoutMs: 30_000 });
const spec = sagaSpecification(saga);
const terms = { fromAccountId: 'ada', toAccountId: 'bob', amount: 40, currency: 'EUR' };
const requested = feedEvent('transfer-t1', { type: 'TransferRequested', data: terms });
const money = (accountId: string) => ({ accountId, amount: 40, currency: 'EUR', transferId: 't1' });
const step = (type: string, extra: object = {}) => ({ type, payload: { transferId: 't1', ...extra } });
const debited = [requested, stepSucceeded('Withdraw')];
const credited = [...debited, stepSucceeded('RecordDebit'), stepSucceeded('Deposit')];

describe('the transfer saga', () => {
  it('given a transfer requested, it debits the source (tagged with the transfer) and gives itself 30 s', () => {
    spec
      .given([])
      .when(requested)
      .thenDispatches([{ type: 'Withdraw', payload: money('ada') }])
      .thenSchedules([{ type: 'TransferTimedOut', dueInMs: 30_000 }])
      .thenPhase('running');
  });

  it('when the debit succeeded, it records it, credits the target, and cancels the timeout: the debit is the point of no return', () => {
    spec
      .given([requested])
      .when(stepSucceeded('Withdraw'))
      .thenDispatches([step('RecordDebit'), { type: 'Deposit', payload: money('bob') }])
      .thenDrops(['TransferTimedOut'])
      .thenPhase('running');
  });

  it('when the credit succeeded, it records it and completes the transfer', () => {
    spec
      .given([...debited, stepSucceeded('RecordDebit')])
      .when(stepSucceeded('Deposit'))
      .thenDispatches([step('RecordCredit'), step('CompleteTransfer')])
      .thenPhase('completed')
      .thenState({ transferId: 't1', terms, stage: 'completed' });
  });

  it('when the debit is refused, the transfer fails with the rule and nothing to undo', () => {
    spec
      .given([requested])
      .when(stepRefused('Withdraw', 'INSUFFICIENT_FUNDS'))
      .thenDispatches([step('RecordDebitFailure', { reason: 'INSUFFICIENT_FUNDS' })])
      .thenPhase('completed')
      .thenState({ transferId: 't1', terms, stage: 'failed', reason: 'INSUFFICIENT_FUNDS' });
  });

  it('when the credit is refused, the debit is returned to the source, then the transfer is refunded', () => {
    const refused = [...debited, stepSucceeded('RecordDebit'), stepRefused('Deposit', 'ACCOUNT_NOT_FOUND')];
    spec
      .given(refused.slice(0, -1))
      .when(stepRefused('Deposit', 'ACCOUNT_NOT_FOUND'))
      .thenDispatches([{ type: 'Deposit', payload: money('ada') }])
      .thenPhase('compensating');
    spec
      .given(refused)
      .when(stepSucceeded('Deposit'))
      .thenDispatches([step('RecordCreditFailure', { reason: 'ACCOUNT_NOT_FOUND' }), step('RecordRefund')])
      .thenPhase('completed')
      .thenState({ transferId: 't1', terms, stage: 'refunded', reason: 'ACCOUNT_NOT_FOUND' });
  });

  it('when it times out while the debit is in flight, it waits for the debit, returns it, and records the debit before the refund', () => {
    spec.given([requested]).when(timeoutFires('TransferTimedOut')).thenDispatches([]).thenPhase('compensating');
    spec.given([requested, timeoutFires('TransferTimedOut')]).when(stepSucceeded('Withdraw')).thenDispatches([{ type: 'Deposit', payload: money('ada') }]);
    spec
      .given([requested, timeoutFires('TransferTimedOut'), stepSucceeded('Withdraw')])
      .when(stepSucceeded('Deposit'))
      .thenDispatches([step('RecordDebit'), step('RecordCreditFailure', { reason: 'TIMED_OUT' }), step('RecordRefund')])
      .thenState({ transferId: 't1', terms, stage: 'refunded', reason: 'TIMED_OUT' });
  });

  it('when it times out and the debit in flight is then refused, the transfer fails: no money left the source', () => {
    spec
      .given([requested, timeoutFires('TransferTimedOut')])
      .when(stepRefused('Withdraw', 'ACCOUNT_CLOSED'))
      .thenDispatches([step('RecordDebitFailure', { reason: 'TIMED_OUT' })])
      .thenPhase('completed');
  });

  it('once the debit succeeded, the time it was given no longer runs: a credit held up by a crashed worker still lands, and is never taken back', () => {
    spec.given(debited).when(timeoutFires('TransferTimedOut')).thenIgnores('cancelled').thenDispatches([]);
    spec
      .given([...debited, stepSucceeded('RecordDebit'), clockAdvances(60_000)])
      .when(stepSucceeded('Deposit'))
      .thenDispatches([step('RecordCredit'), step('CompleteTransfer')])
      .thenState({ transferId: 't1', terms, stage: 'completed' });
  });

  it('a timeout after the transfer completed does nothing', () => {
    spec.given(credited).when(timeoutFires('TransferTimedOut')).thenIgnores('finished').thenDispatches([]);
  });

  it('a refund that is refused (the source was closed meanwhile) leaves the instance stuck, for someone to resolve', () => {
    spec
      .given([requested, timeoutFires('TransferTimedOut'), stepSucceeded('Withdraw')])
      .when(stepRefused('Deposit', 'ACCOUNT_CLOSED'))
      .thenPhase('stuck')
      .thenDispatches([]);
  });

  it('a second request for the same transfer starts nothing', () => {
    spec.given([requested]).when(requested).thenIgnores('duplicate_start');
  });
});
