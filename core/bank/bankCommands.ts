import { z } from 'zod';
import { createRepository } from '../aggregates';
import { commandsFor, type CommandDefinition } from '../commands';
import type { Db } from '../db';
import type { EventStore } from '../eventstore';
import { account } from './account';
import { accountCommandShapes, transferCommandShapes } from './commandSchemas';
import { bankIdSchema } from './fieldSchemas';
import { largeDepositReports } from './largeDeposits';
import { transfer } from './transfer';

type Shapes = Readonly<Record<string, z.ZodRawShape>>;
type Payload = Record<string, unknown>;

const withoutField = (payload: Payload, field: string) =>
  Object.fromEntries(Object.entries(payload).filter(([key]) => key !== field));

/**
 * How each command of one aggregate reads its payload: the aggregate's id
 * (under `idField`) next to the command's own fields, all validated together
 * so every invalid field is reported at once.
 */
function specs<Command>(shapes: Shapes, idField: string) {
  return Object.entries(shapes).map(([type, shape]) => ({
    type,
    schema: z.strictObject({ [idField]: bankIdSchema, ...shape }),
    aggregateId: (payload: Payload) => String(payload[idField]),
    // The schema for `type` parsed exactly that command's fields, so this is that command.
    toCommand: (payload: Payload) => ({ type, data: withoutField(payload, idField) }) as Command,
  }));
}

/** The bank's commands for the command bus: account commands carry `accountId`, transfer commands `transferId`. */
export function bankCommands(db: Db, store: EventStore): CommandDefinition[] {
  const accounts = commandsFor(createRepository(db, store, account));
  const transfers = commandsFor(createRepository(db, store, transfer));
  return [
    ...specs<Parameters<typeof account.execute>[0]>(accountCommandShapes, 'accountId').map((spec) =>
      accounts.define(spec.type === 'Deposit' ? { ...spec, messages: largeDepositReports } : spec),
    ),
    ...specs<Parameters<typeof transfer.execute>[0]>(transferCommandShapes, 'transferId').map((spec) => transfers.define(spec)),
  ];
}
