import type { Queryable } from '../../db';
import type { CommandResult } from '../CommandDefinition';
import type { CommandFailure, CommandState, CommandStatus } from './CommandStatus';

interface StatusRow {
  command_id: string;
  command_type: string;
  status: CommandState;
  outcome: CommandResult | null;
  error: CommandFailure | null;
  attempts: number;
  created_at: Date | string;
  updated_at: Date | string;
}

const STATUS_SQL = `
  SELECT command_id, command_type, status, outcome, error, attempts, created_at, updated_at
  FROM commands WHERE command_id = $1`;

// Drivers differ in how they hand back timestamptz; an ISO string is the same from both and JSON-safe.
const iso = (value: Date | string) => new Date(value).toISOString();

/** A command's status, or undefined if no command has that id. Commands run by `execute` show too, once done. */
export async function getCommandStatus(db: Queryable, commandId: string): Promise<CommandStatus | undefined> {
  const { rows } = await db.query<StatusRow>(STATUS_SQL, [commandId], { name: 'command_status' });
  const row = rows[0];
  if (!row) return undefined;
  return {
    commandId: row.command_id,
    commandType: row.command_type,
    status: row.status,
    ...(row.status === 'succeeded' && row.outcome ? { outcome: row.outcome } : {}),
    // A success clears the error of an earlier unfinished run: the stored one is no longer news.
    ...(row.status !== 'succeeded' && row.error ? { error: row.error } : {}),
    attempts: row.attempts,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}
