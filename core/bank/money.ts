import { DomainError } from '../aggregates';
import type { MoneyRule } from './rules';

/**
 * Amounts are integers in the currency's minor unit (cents for EUR). The
 * largest single movement: 100 million in a two-decimal currency.
 */
export const MAX_AMOUNT = 10_000_000_000;

/** The largest balance; far below `Number.MAX_SAFE_INTEGER`, so sums stay exact. */
export const MAX_BALANCE = 1_000_000_000_000_000;

/** A 3-letter uppercase ISO 4217 code, e.g. EUR. */
export const CURRENCY_PATTERN = /^[A-Z]{3}$/;

/** Refuses an amount that is not a positive integer of minor units up to `MAX_AMOUNT`. */
export function checkAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new DomainError<MoneyRule>('INVALID_AMOUNT', 'the amount must be a positive integer of minor units', { amount });
  }
  if (amount > MAX_AMOUNT) {
    throw new DomainError<MoneyRule>('AMOUNT_TOO_LARGE', `the amount must be at most ${MAX_AMOUNT}`, {
      amount,
      maximum: MAX_AMOUNT,
    });
  }
}

export function checkCurrency(currency: string): void {
  if (!CURRENCY_PATTERN.test(currency)) {
    throw new DomainError<MoneyRule>('INVALID_CURRENCY', 'the currency must be a 3-letter uppercase ISO code', { currency });
  }
}
