import { describe, expect, it } from 'vitest';
import { specification } from '../../core/aggregates';
import { TRANSFER_TRANSITIONS, transfer, type TransferCommand, type TransferEvent, type TransferRule, type TransferStatus } from '../../core/bank';
import {
  completeTransfer,
  historyOf,
  recordCredit,
  recordCreditFailure,
  recordDebit,
  recordDebitFailure,
  recordRefund,
  requestTransfer,
  transferCompleted,
  transferCreditFailed,
  transferCredited,
  transferDebitFailed,
  transferDebited,
  transferRefunded,
  transferRequested,
} from './bankFixtures';

// The transfer state machine, cell by cell: every command in every status is
// either the one transition the lifecycle allows or refused with the rule that says why.

const spec = specification(transfer);

/** The lifecycle, written out as the specification of `TRANSFER_TRANSITIONS`: from, command, event, to. */
const lifecycle: [TransferStatus, TransferCommand, TransferEvent, TransferStatus][] = [
  ['unrequested', requestTransfer(), transferRequested, 'requested'],
  ['requested', recordDebit, transferDebited, 'debited'],
  ['requested', recordDebitFailure('INSUFFICIENT_FUNDS'), transferDebitFailed('INSUFFICIENT_FUNDS'), 'failed'],
  ['debited', recordCredit, transferCredited, 'credited'],
  ['debited', recordCreditFailure('ACCOUNT_CLOSED'), transferCreditFailed('ACCOUNT_CLOSED'), 'compensating'],
  ['credited', completeTransfer, transferCompleted, 'completed'],
  ['compensating', recordRefund, transferRefunded, 'refunded'],
];
const statuses = Object.keys(historyOf) as TransferStatus[];

/** Why a command is refused in a status the lifecycle has no transition from. */
const refusalOf = (status: TransferStatus, command: TransferCommand): TransferRule => {
  if (status === 'unrequested') return 'TRANSFER_NOT_FOUND';
  if (command.type === 'RequestTransfer') return 'TRANSFER_ALREADY_EXISTS';
  if (['completed', 'failed', 'refunded'].includes(status)) return 'TRANSFER_ALREADY_FINISHED';
  return 'ILLEGAL_TRANSFER_TRANSITION';
};

describe('every command in every status', () => {
  it('TRANSFER_TRANSITIONS is exactly the lifecycle', () => {
    const table = Object.entries(TRANSFER_TRANSITIONS).map(([type, { from, to }]) => [from, type, to]);
    expect(table.sort()).toEqual(lifecycle.map(([from, command, , to]) => [from, command.type, to]).sort());
  });

  describe.each(statuses)('given a %s transfer', (status) => {
    it.each(lifecycle.map(([, command]) => [command.type, command] as const))('when %s', (_type, command) => {
      const transition = lifecycle.find(([from, candidate]) => from === status && candidate.type === command.type);
      if (transition) {
        const [, , event, to] = transition;
        expect(spec.given(historyOf[status]).when(command).thenEvents([event]).status).toBe(to);
      } else {
        spec.given(historyOf[status]).when(command).thenRejects(refusalOf(status, command));
      }
    });
  });
});
