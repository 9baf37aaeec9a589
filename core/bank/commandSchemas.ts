import { z } from 'zod';
import type { AccountCommand } from './accountTypes';
import { amountSchema, bankIdSchema, currencySchema, ownerSchema, reasonSchema } from './fieldSchemas';
import type { TransferCommand } from './transferTypes';

export type BankCommand = AccountCommand | TransferCommand;
export type BankCommandType = BankCommand['type'];

/** One schema per command type, each parsing exactly that command's payload: a missing or foreign entry does not compile. */
export type CommandSchemas<Command extends BankCommand> = {
  readonly [Type in Command['type']]: z.ZodType<Extract<Command, { type: Type }>['data']>;
};

// Strict objects: an unknown field (a typo such as `ammount`) is reported, not dropped.
const empty = z.strictObject({});
const movement = z.strictObject({
  amount: amountSchema,
  currency: currencySchema.exactOptional(),
  transferId: bankIdSchema.exactOptional(),
});
const failure = z.strictObject({ reason: reasonSchema });

export const accountCommandSchemas: CommandSchemas<AccountCommand> = {
  OpenAccount: z.strictObject({ owner: ownerSchema, currency: currencySchema }),
  Deposit: movement,
  Withdraw: movement,
  CloseAccount: empty,
};

export const transferCommandSchemas: CommandSchemas<TransferCommand> = {
  RequestTransfer: z.strictObject({
    fromAccountId: bankIdSchema,
    toAccountId: bankIdSchema,
    amount: amountSchema,
    currency: currencySchema,
  }),
  RecordDebit: empty,
  RecordDebitFailure: failure,
  RecordCredit: empty,
  RecordCreditFailure: failure,
  CompleteTransfer: empty,
  RecordRefund: empty,
};

/**
 * The payload schema of every bank command, by command type. They check shape
 * (types, integer amounts, currency and id formats, non-blank texts) and report
 * every invalid field at once; the rules that depend on state stay in the aggregates.
 */
export const bankCommandSchemas: CommandSchemas<BankCommand> = { ...accountCommandSchemas, ...transferCommandSchemas };

export const isBankCommandType = (type: string): type is BankCommandType => Object.hasOwn(bankCommandSchemas, type);

export const isAccountCommandType = (type: string): type is AccountCommand['type'] => Object.hasOwn(accountCommandSchemas, type);

export const isTransferCommandType = (type: string): type is TransferCommand['type'] =>
  Object.hasOwn(transferCommandSchemas, type);
