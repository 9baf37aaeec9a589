/** The longest owner name an account accepts. */
export const MAX_OWNER_LENGTH = 200;

/**
 * Optional on Deposit and Withdraw: `currency` asserts the account's currency
 * (refused with CURRENCY_MISMATCH otherwise; the transfer saga always sends it),
 * `transferId` records which transfer moved the money.
 */
export interface MovementOptions {
  currency?: string;
  transferId?: string;
}

export type AccountCommand =
  | { type: 'OpenAccount'; data: { owner: string; currency: string } }
  | { type: 'Deposit'; data: { amount: number } & MovementOptions }
  | { type: 'Withdraw'; data: { amount: number } & MovementOptions }
  | { type: 'CloseAccount'; data: Record<string, never> };

/** A deposit or withdrawal as recorded: the amount, and the transfer behind it if any. */
export interface Movement {
  amount: number;
  transferId?: string;
}

export type AccountEvent =
  | { type: 'AccountOpened'; data: { owner: string; currency: string } }
  | { type: 'MoneyDeposited'; data: Movement }
  | { type: 'MoneyWithdrawn'; data: Movement }
  | { type: 'AccountClosed'; data: Record<string, never> };

export interface AccountDetails {
  owner: string;
  currency: string;
  /** In minor units; never below 0. */
  balance: number;
}

/** An account id nobody opened yet; an open account; a closed one (balance 0, refuses every command). */
export type AccountState =
  | { status: 'unopened' }
  | (AccountDetails & { status: 'open' })
  | (AccountDetails & { status: 'closed' });

export type AccountStatus = AccountState['status'];
