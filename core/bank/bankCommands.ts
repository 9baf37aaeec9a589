import { z } from 'zod';
import { createRepository } from '../aggregates';
import { commandsFor, type CommandDefinition } from '../commands';
import type { Db } from '../db';
import type { EventStore } from '../eventstore';
import { account } from './account';
import { accountCommandShapes, transferCommandShapes } from './commandSchemas';
import { bankIdSchema } from './fieldSchemas';
import { transfer } from './transfer';

type Shapes = Readonly<Record<string, z.ZodRawShape>>;

/** What `commandsFor(repository)` returns, for any of the aggregate's commands. */
type AggregateCommands = Pick<ReturnType<typeof commandsFor<unknown, never, never>>, 'define'>;

const withoutField = (payload: Record<string, unknown>, field: string) =>
  Object.fromEntries(Object.entries(payload).filter(([key]) => key !== field));

/**
 * Every command of one aggregate as the bus runs it: the payload is the
 * aggregate's id (under `idField`) next to the command's own fields, all
 * validated together so every invalid field is reported at once.
 */
function defineAll(commands: AggregateCommands, shapes: Shapes, idField: string): CommandDefinition[] {
  return Object.entries(shapes).map(([type, shape]) =>
    commands.define({
      type,
      schema: z.strictObject({ [idField]: bankIdSchema, ...shape }),
      aggregateId: (payload: Record<string, unknown>) => String(payload[idField]),
      // The schema for `type` parsed exactly that command's fields, so this is that command.
      toCommand: (payload: Record<string, unknown>) => ({ type, data: withoutField(payload, idField) }) as never,
    }),
  );
}

/** The bank's commands for the command bus: account commands carry `accountId`, transfer commands `transferId`. */
export function bankCommands(db: Db, store: EventStore): CommandDefinition[] {
  const accounts = commandsFor(createRepository(db, store, account));
  const transfers = commandsFor(createRepository(db, store, transfer));
  return [
    ...defineAll(accounts, accountCommandShapes, 'accountId'),
    ...defineAll(transfers, transferCommandShapes, 'transferId'),
  ];
}
