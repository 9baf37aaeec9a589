import { DomainError } from '../aggregates';
import type { TransferRule } from './rules';
import type { TransferCommand, TransferState, TransferStatus } from './transferTypes';

/** The transfer state machine: each command moves a transfer from one status to the next, and nothing else. */
export const TRANSFER_TRANSITIONS = {
  RequestTransfer: { from: 'unrequested', to: 'requested' },
  RecordDebit: { from: 'requested', to: 'debited' },
  RecordDebitFailure: { from: 'requested', to: 'failed' },
  RecordCredit: { from: 'debited', to: 'credited' },
  RecordCreditFailure: { from: 'debited', to: 'compensating' },
  CompleteTransfer: { from: 'credited', to: 'completed' },
  RecordRefund: { from: 'compensating', to: 'refunded' },
} as const satisfies Record<TransferCommand['type'], { from: TransferStatus; to: TransferStatus }>;

/** Statuses no command leaves. */
export const FINISHED_TRANSFER_STATUSES = ['completed', 'failed', 'refunded'] as const satisfies readonly TransferStatus[];

export const isTransferFinished = (status: TransferStatus): boolean =>
  (FINISHED_TRANSFER_STATUSES as readonly TransferStatus[]).includes(status);

/** Refuses `command` unless the transfer is in the status it starts from, naming why. */
export function requireTransition(state: TransferState, command: TransferCommand['type']): void {
  const { from, to } = TRANSFER_TRANSITIONS[command];
  const { status } = state;
  if (status === from) return;
  const details = { status, command };
  if (status === 'unrequested') {
    throw new DomainError<TransferRule>('TRANSFER_NOT_FOUND', 'no transfer was requested with this id', details);
  }
  if (command === 'RequestTransfer') {
    throw new DomainError<TransferRule>('TRANSFER_ALREADY_EXISTS', 'a transfer was already requested with this id', details);
  }
  if (isTransferFinished(status)) {
    throw new DomainError<TransferRule>('TRANSFER_ALREADY_FINISHED', `the transfer is ${status}`, details);
  }
  throw new DomainError<TransferRule>('ILLEGAL_TRANSFER_TRANSITION', `a ${status} transfer cannot become ${to} (${command})`, details);
}
