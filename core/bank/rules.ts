/**
 * Every business rule of the bank domain, by its stable code. A decider refuses
 * a command with `DomainError<Rule>`, so a misspelt code does not compile, and a
 * caller (the command bus, an HTTP mapping) can list them exhaustively.
 */

/** Rules on money values, shared by both aggregates. */
export const MONEY_RULES = [
  /** The amount is not a positive integer number of minor units (cents). */
  'INVALID_AMOUNT',
  /** The amount is above `MAX_AMOUNT`. */
  'AMOUNT_TOO_LARGE',
  /** The currency is not a 3-letter uppercase ISO 4217 code. */
  'INVALID_CURRENCY',
] as const;

export const ACCOUNT_RULES = [
  ...MONEY_RULES,
  /** The owner is blank or longer than `MAX_OWNER_LENGTH`. */
  'INVALID_OWNER',
  /** OpenAccount on an account that is open. */
  'ACCOUNT_ALREADY_EXISTS',
  /** Deposit, Withdraw or CloseAccount on an account never opened. */
  'ACCOUNT_NOT_FOUND',
  /** Any command on a closed account, OpenAccount and CloseAccount included. */
  'ACCOUNT_CLOSED',
  /** A Deposit or Withdraw that names another currency than the account's. */
  'CURRENCY_MISMATCH',
  /** A withdrawal above the balance: no overdraft. */
  'INSUFFICIENT_FUNDS',
  /** A deposit that would take the balance above `MAX_BALANCE`. */
  'BALANCE_LIMIT_EXCEEDED',
  /** CloseAccount while money is still on the account. */
  'BALANCE_NOT_ZERO',
] as const;

export const TRANSFER_RULES = [
  ...MONEY_RULES,
  /** A transfer from an account to itself. */
  'SAME_ACCOUNT_TRANSFER',
  /** RequestTransfer with an id already used. */
  'TRANSFER_ALREADY_EXISTS',
  /** A step recorded on a transfer never requested. */
  'TRANSFER_NOT_FOUND',
  /** Any step recorded on a completed, failed or refunded transfer. */
  'TRANSFER_ALREADY_FINISHED',
  /** A step out of order, e.g. a credit before the debit. */
  'ILLEGAL_TRANSFER_TRANSITION',
] as const;

export type MoneyRule = (typeof MONEY_RULES)[number];
export type AccountRule = (typeof ACCOUNT_RULES)[number];
export type TransferRule = (typeof TRANSFER_RULES)[number];
export type BankRule = AccountRule | TransferRule;
