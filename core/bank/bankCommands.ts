import * as z from '../schema';
import type { AggregateCommandSpec } from '../commands';
import type { EventShape } from '../eventstore';
import { aggregateCommands, type CommandGroup, type CommandVisibility } from '../service';
import { account } from './account';
import type { AccountCommand, AccountEvent } from './accountTypes';
import { accountCommandShapes, transferCommandShapes } from './commandSchemas';
import { bankIdSchema } from './fieldSchemas';
import { largeDepositReports } from './largeDeposits';
import { transfer } from './transfer';
import type { TransferCommand, TransferEvent } from './transferTypes';

type Payload = Record<string, unknown>;

const withoutField = (payload: Payload, field: string) =>
  Object.fromEntries(Object.entries(payload).filter(([key]) => key !== field));

/**
 * How a command of one aggregate reads its payload: the aggregate's id (under
 * `idField`) next to the command's own fields, all validated together so every
 * invalid field is reported at once.
 */
function specOf<Command, Event extends EventShape>(type: string, shape: z.core.$ZodShape, idField: string): AggregateCommandSpec<Payload, Command, Event> {
  return {
    type,
    schema: z.strictObject({ [idField]: bankIdSchema, ...shape }),
    aggregateId: (payload) => String(payload[idField]),
    // The schema for `type` parsed exactly that command's fields, so this is that command.
    toCommand: (payload) => ({ type, data: withoutField(payload, idField) }) as Command,
  };
}

/** The transfer's own steps, which only its saga may take: never routed over HTTP. */
const INTERNAL_TRANSFER_STEPS = new Set(['RecordDebit', 'RecordDebitFailure', 'RecordCredit', 'RecordCreditFailure', 'CompleteTransfer', 'RecordRefund']);

const transferVisibility = (type: string): CommandVisibility => (INTERNAL_TRANSFER_STEPS.has(type) ? 'internal' : 'public');

/** The bank's commands: account commands carry `accountId`, transfer commands `transferId`. */
export const bankCommands: readonly CommandGroup[] = [
  aggregateCommands(account, (command) =>
    Object.entries(accountCommandShapes).map(([type, shape]) => {
      const spec = specOf<AccountCommand, AccountEvent>(type, shape, 'accountId');
      return command({ ...spec, visibility: 'public', ...(type === 'Deposit' ? { messages: largeDepositReports } : {}) });
    }),
  ),
  aggregateCommands(transfer, (command) =>
    Object.entries(transferCommandShapes).map(([type, shape]) =>
      command({ ...specOf<TransferCommand, TransferEvent>(type, shape, 'transferId'), visibility: transferVisibility(type) }),
    ),
  ),
];
