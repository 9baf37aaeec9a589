/** What a transfer moves: `amount` minor units of `currency` from one account to another. */
export interface TransferTerms {
  fromAccountId: string;
  toAccountId: string;
  amount: number;
  currency: string;
}

/** Why a step failed; the saga records the refusing rule, e.g. INSUFFICIENT_FUNDS. */
export interface FailureReason {
  reason: string;
}

type NoData = Record<string, never>;

/** The saga records each step's outcome on the transfer; each command is one transition. */
export type TransferCommand =
  | { type: 'RequestTransfer'; data: TransferTerms }
  | { type: 'RecordDebit'; data: NoData }
  | { type: 'RecordDebitFailure'; data: FailureReason }
  | { type: 'RecordCredit'; data: NoData }
  | { type: 'RecordCreditFailure'; data: FailureReason }
  | { type: 'CompleteTransfer'; data: NoData }
  | { type: 'RecordRefund'; data: NoData };

export type TransferEvent =
  | { type: 'TransferRequested'; data: TransferTerms }
  | { type: 'TransferDebited'; data: NoData }
  | { type: 'TransferDebitFailed'; data: FailureReason }
  | { type: 'TransferCredited'; data: NoData }
  | { type: 'TransferCreditFailed'; data: FailureReason }
  | { type: 'TransferCompleted'; data: NoData }
  | { type: 'TransferRefunded'; data: NoData };

/**
 * requested -> debited -> credited -> completed, or requested -> failed when the
 * debit is refused, or debited -> compensating -> refunded when the credit is
 * refused after the debit. A failed, compensating or refunded transfer keeps
 * the reason of the failure.
 */
export type TransferState =
  | { status: 'unrequested' }
  | (TransferTerms & { status: 'requested' | 'debited' | 'credited' | 'completed' })
  | (TransferTerms & FailureReason & { status: 'failed' | 'compensating' | 'refunded' });

export type TransferStatus = TransferState['status'];
