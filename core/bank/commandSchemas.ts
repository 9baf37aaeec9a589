import * as z from '../schema';
import type { AccountCommand } from './accountTypes';
import { amountSchema, bankIdSchema, currencySchema, ownerSchema, reasonSchema } from './fieldSchemas';
import type { TransferCommand } from './transferTypes';

export type BankCommand = AccountCommand | TransferCommand;
export type BankCommandType = BankCommand['type'];

/** One schema per command type, each parsing exactly that command's payload: a missing or foreign entry does not compile. */
export type CommandSchemas<Command extends BankCommand> = {
  readonly [Type in Command['type']]: z.ZodMiniType<Extract<Command, { type: Type }>['data']>;
};

// The fields of each command's payload, kept as shapes so a transport can add the
// aggregate's id to them (see bankCommands.ts).
const movement = { amount: amountSchema, currency: z.exactOptional(currencySchema), transferId: z.exactOptional(bankIdSchema) };
const failure = { reason: reasonSchema };

export const accountCommandShapes = {
  OpenAccount: { owner: ownerSchema, currency: currencySchema },
  Deposit: movement,
  Withdraw: movement,
  CloseAccount: {},
} as const satisfies Record<AccountCommand['type'], z.core.$ZodShape>;

export const transferCommandShapes = {
  RequestTransfer: { fromAccountId: bankIdSchema, toAccountId: bankIdSchema, amount: amountSchema, currency: currencySchema },
  RecordDebit: {},
  RecordDebitFailure: failure,
  RecordCredit: {},
  RecordCreditFailure: failure,
  CompleteTransfer: {},
  RecordRefund: {},
} as const satisfies Record<TransferCommand['type'], z.core.$ZodShape>;

// Strict objects: an unknown field (a typo such as `ammount`) is reported, not dropped.
export const accountCommandSchemas: CommandSchemas<AccountCommand> = {
  OpenAccount: z.strictObject(accountCommandShapes.OpenAccount),
  Deposit: z.strictObject(accountCommandShapes.Deposit),
  Withdraw: z.strictObject(accountCommandShapes.Withdraw),
  CloseAccount: z.strictObject(accountCommandShapes.CloseAccount),
};

export const transferCommandSchemas: CommandSchemas<TransferCommand> = {
  RequestTransfer: z.strictObject(transferCommandShapes.RequestTransfer),
  RecordDebit: z.strictObject(transferCommandShapes.RecordDebit),
  RecordDebitFailure: z.strictObject(transferCommandShapes.RecordDebitFailure),
  RecordCredit: z.strictObject(transferCommandShapes.RecordCredit),
  RecordCreditFailure: z.strictObject(transferCommandShapes.RecordCreditFailure),
  CompleteTransfer: z.strictObject(transferCommandShapes.CompleteTransfer),
  RecordRefund: z.strictObject(transferCommandShapes.RecordRefund),
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
