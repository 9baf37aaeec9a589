import type { IntegrationMessage } from '../eventstore';
import type { AccountEvent } from './accountTypes';

/** Deposits of this many minor units or more are reported to compliance: 10,000.00 in a two-decimal currency. */
export const LARGE_DEPOSIT = 1_000_000;

/** The subject compliance listens on; the publisher's stream must capture it. */
export const LARGE_DEPOSIT_SUBJECT = 'compliance.deposits.large';

/**
 * The bank's integration message: a large deposit, reported to a compliance
 * service that is not part of this one. It is not an event of the account
 * (nothing in the account changes because of it), so it goes through the
 * outbox, written with the deposit and published in order per account.
 */
export function largeDepositReports(payload: Record<string, unknown>, events: readonly AccountEvent[]): IntegrationMessage[] {
  return events.flatMap((event) =>
    event.type === 'MoneyDeposited' && event.data.amount >= LARGE_DEPOSIT
      ? [{
          subject: LARGE_DEPOSIT_SUBJECT,
          orderingKey: String(payload.accountId),
          body: { accountId: String(payload.accountId), amount: event.data.amount, ...(event.data.transferId ? { transferId: event.data.transferId } : {}) },
        }]
      : [],
  );
}
