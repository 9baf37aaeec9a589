import { defineSaga, type SagaReaction } from '../sagas';
import type { TransferEvent, TransferTerms } from './transferTypes';

/** What moves money: an account command tagged with the transfer, in the transfer's currency (so the account refuses another). */
interface Movement {
  accountId: string;
  amount: number;
  currency: string;
  transferId: string;
}

type TransferStep = { transferId: string };

export type TransferSagaCommand =
  | { type: 'Withdraw'; payload: Movement }
  | { type: 'Deposit'; payload: Movement }
  | { type: 'RecordDebit'; payload: TransferStep }
  | { type: 'RecordCredit'; payload: TransferStep }
  | { type: 'CompleteTransfer'; payload: TransferStep }
  | { type: 'RecordDebitFailure'; payload: TransferStep & { reason: string } }
  | { type: 'RecordCreditFailure'; payload: TransferStep & { reason: string } }
  | { type: 'RecordRefund'; payload: TransferStep };

export type TransferTimeout = { type: 'TransferTimedOut'; data: Record<string, never> };

type TransferRequested = Extract<TransferEvent, { type: 'TransferRequested' }>;

/**
 * debiting -> crediting -> completed; debiting -> failed (the debit refused);
 * then, compensated: refunded (the money went back to the source) or failed
 * (it never left).
 */
export interface TransferSagaState {
  transferId: string;
  terms: TransferTerms;
  stage: 'debiting' | 'crediting' | 'completed' | 'failed' | 'refunded';
  reason?: string;
}

export const TRANSFER_TIMED_OUT = 'TIMED_OUT';
export const DEFAULT_TRANSFER_TIMEOUT_MS = 30_000;

const transferIdOf = (streamId: string) => streamId.slice('transfer-'.length);

type Reaction = SagaReaction<TransferSagaState, TransferSagaCommand, TransferTimeout>;

const movement = (state: TransferSagaState, accountId: string): Movement => ({
  accountId,
  amount: state.terms.amount,
  currency: state.terms.currency,
  transferId: state.transferId,
});

type Bookkeeping = Exclude<TransferSagaCommand, { type: 'Withdraw' | 'Deposit' }>;

/** A step recorded on the transfer itself (a transition of its lifecycle). */
const record = (type: Bookkeeping['type'], state: TransferSagaState, extra: { reason?: string } = {}): { command: TransferSagaCommand } =>
  ({ command: { type, payload: { transferId: state.transferId, ...extra } } }) as { command: Bookkeeping };

/**
 * The money transfer: debit the source (a withdrawal tagged with the transfer),
 * credit the target, record each step on the transfer, complete. A refused
 * debit fails the transfer with nothing to undo.
 *
 * The debit is the point of no return. The timeout bounds the wait for it: if
 * it fires first, the transfer compensates (a debit that lands after all is
 * returned to the source) and ends refunded, or failed if no money left. Once
 * the debit has succeeded the timeout is cancelled and the credit goes on,
 * however long a crashed worker delays it: a credit is never taken back from
 * a target who may have spent it. Only a refused credit returns the debit.
 * Money is conserved in every outcome.
 */
export function defineTransferSaga(options: { timeoutMs?: number } = {}) {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS;
  return defineSaga<TransferRequested, TransferSagaState, TransferSagaCommand, TransferTimeout>()({
    name: 'transfer',
    stateVersion: 1,
    on: {
      TransferRequested: {
        correlate: (event) => transferIdOf(event.streamId),
        start: (event): Reaction => {
          const state: TransferSagaState = { transferId: transferIdOf(event.streamId), terms: event.data, stage: 'debiting' };
          const { fromAccountId } = event.data;
          return {
            state,
            dispatch: [{ command: { type: 'Withdraw', payload: movement(state, fromAccountId) }, compensation: { type: 'Deposit', payload: movement(state, fromAccountId) } }],
            schedule: [{ timeout: { type: 'TransferTimedOut', data: {} }, afterMs: timeoutMs }],
          };
        },
      },
    },
    succeeded: {
      Withdraw: (_outcome, state) => {
        const next: TransferSagaState = { ...state, stage: 'crediting' };
        const { toAccountId } = state.terms;
        return {
          state: next,
          dispatch: [record('RecordDebit', state), { command: { type: 'Deposit', payload: movement(state, toAccountId) } }],
          cancel: ['TransferTimedOut'],
        };
      },
      Deposit: (_outcome, state) => ({
        state: { ...state, stage: 'completed' },
        dispatch: [record('RecordCredit', state), record('CompleteTransfer', state)],
        outcome: 'complete',
      }),
    },
    refused: {
      Withdraw: ({ error }, state) => {
        const reason = error.rule ?? error.code;
        return { state: { ...state, stage: 'failed', reason }, dispatch: [record('RecordDebitFailure', state, { reason })], outcome: 'complete' };
      },
      Deposit: ({ error }, state) => ({ state: { ...state, reason: error.rule ?? error.code }, outcome: 'compensate', reason: error.rule ?? error.code }),
    },
    timeouts: {
      TransferTimedOut: (_timeout, state) => ({ state: { ...state, reason: TRANSFER_TIMED_OUT }, outcome: 'compensate', reason: TRANSFER_TIMED_OUT }),
    },
    compensated: (state, { compensated, reason }) => {
      const failure = reason ?? state.reason ?? 'COMPENSATED';
      const refunded = compensated.some((command) => command.type === 'Deposit' && command.payload.accountId === state.terms.fromAccountId);
      if (!refunded) return { state: { ...state, stage: 'failed', reason: failure }, dispatch: [record('RecordDebitFailure', state, { reason: failure })] };
      // The debit took effect; if the transfer never heard of it (the timeout came first), it is recorded before the refund.
      const debitRecorded = state.stage !== 'debiting';
      return {
        state: { ...state, stage: 'refunded', reason: failure },
        dispatch: [
          ...(debitRecorded ? [] : [record('RecordDebit', state)]),
          record('RecordCreditFailure', state, { reason: failure }),
          record('RecordRefund', state),
        ],
      };
    },
  });
}

export const transferSaga = defineTransferSaga();
