import * as z from '../schema';
import { MAX_OWNER_LENGTH } from './accountTypes';
import { CURRENCY_PATTERN, MAX_AMOUNT } from './money';

/** Account and transfer ids: 1 to 64 letters, digits, `-` or `_`, starting with a letter or digit (UUIDs fit). */
export const BANK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The longest failure reason a transfer records. */
export const MAX_REASON_LENGTH = 500;

const NOT_BLANK = /\S/;

export const bankIdSchema = z.string().check(z.regex(BANK_ID_PATTERN, 'must be 1-64 letters, digits, - or _, starting with a letter or digit'));

/** Minor units (cents): a positive integer up to `MAX_AMOUNT`. */
export const amountSchema = z
  .int('must be an integer number of minor units')
  .check(z.positive('must be positive'), z.maximum(MAX_AMOUNT, `must be at most ${MAX_AMOUNT}`));

export const currencySchema = z.string().check(z.regex(CURRENCY_PATTERN, 'must be a 3-letter uppercase ISO 4217 code, e.g. EUR'));

export const ownerSchema = z
  .string()
  .check(z.maxLength(MAX_OWNER_LENGTH, `must be at most ${MAX_OWNER_LENGTH} characters`), z.regex(NOT_BLANK, 'must not be blank'));

export const reasonSchema = z
  .string()
  .check(z.maxLength(MAX_REASON_LENGTH, `must be at most ${MAX_REASON_LENGTH} characters`), z.regex(NOT_BLANK, 'must not be blank'));
