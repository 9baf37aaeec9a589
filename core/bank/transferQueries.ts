import type { Queryable } from '../db';
import { readStream, StreamNotFoundError } from '../eventstore';
import { readSagaInstance, type SagaPhase } from '../sagas';
import { bankIdSchema } from './fieldSchemas';
import { transfer } from './transfer';
import type { TransferEvent, TransferStatus } from './transferTypes';

/** What happened to a transfer, as its own stream tells it, with what its saga is doing now. */
export interface TransferView {
  transferId: string;
  status: Exclude<TransferStatus, 'unrequested'>;
  fromAccountId: string;
  toAccountId: string;
  amount: number;
  currency: string;
  /** Why it failed or was refunded. */
  reason: string | null;
  /** Each step the transfer went through, with when it was recorded. */
  steps: { step: TransferEvent['type']; at: Date }[];
  /** The saga driving it: running, compensating, completed, or stuck (waiting for someone to retry it). */
  saga: { phase: SagaPhase; updatedAt: Date } | null;
}

export interface TransferQueries {
  getTransfer(transferId: string): Promise<TransferView | null>;
}

export function createTransferQueries(db: Queryable): TransferQueries {
  return {
    async getTransfer(transferId) {
      // An id no transfer could have is simply not found.
      if (!bankIdSchema.safeParse(transferId).success) return null;
      const events = await readStream<TransferEvent>(db, transfer.streamId(transferId)).then(
        (slice) => slice.events,
        (error: unknown) => {
          if (error instanceof StreamNotFoundError) return [];
          throw error;
        },
      );
      const state = transfer.apply(transfer.initialState(), events);
      if (state.status === 'unrequested') return null;
      const saga = await readSagaInstance(db, 'transfer', transferId);
      return {
        transferId,
        status: state.status,
        fromAccountId: state.fromAccountId,
        toAccountId: state.toAccountId,
        amount: state.amount,
        currency: state.currency,
        reason: 'reason' in state ? state.reason : null,
        steps: events.map((event) => ({ step: event.type, at: event.recordedAt })),
        saga: saga ? { phase: saga.phase, updatedAt: saga.updatedAt } : null,
      };
    },
  };
}
