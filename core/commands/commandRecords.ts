import type { Queryable } from '../db';
import type { CommandOutcome } from './CommandOutcome';

export interface CommandRecord {
  commandId: string;
  commandType: string;
  payloadHash: string;
  status: 'pending' | 'succeeded' | 'failed';
  outcome: Omit<CommandOutcome, 'commandId' | 'commandType' | 'replayed'> | null;
  error: unknown;
}

interface CommandRow {
  command_id: string;
  command_type: string;
  payload_hash: string;
  status: CommandRecord['status'];
  outcome: CommandRecord['outcome'];
  error: unknown;
}

const FIND_COMMAND_SQL =
  'SELECT command_id, command_type, payload_hash, status, outcome, error FROM commands WHERE command_id = $1';

export async function findCommand(db: Queryable, commandId: string): Promise<CommandRecord | undefined> {
  const { rows } = await db.query<CommandRow>(FIND_COMMAND_SQL, [commandId], { name: 'find_command' });
  const row = rows[0];
  return row
    ? {
        commandId: row.command_id,
        commandType: row.command_type,
        payloadHash: row.payload_hash,
        status: row.status,
        outcome: row.outcome,
        error: row.error,
      }
    : undefined;
}

// Commands that appended events recorded their outcome in the append itself;
// this is for commands that decided nothing, so there was no append to carry it.
const RECORD_OUTCOME_SQL = `
  INSERT INTO commands AS c (command_id, command_type, payload_hash, correlation_id, status, outcome)
  VALUES ($1, $2, $3, $4, 'succeeded', $5::jsonb)
  ON CONFLICT (command_id) DO UPDATE SET status = 'succeeded', outcome = EXCLUDED.outcome, error = NULL, updated_at = now()
    WHERE c.status = 'pending' AND c.payload_hash = EXCLUDED.payload_hash`;

export async function recordOutcome(
  db: Queryable,
  record: { commandId: string; commandType: string; payloadHash: string; correlationId: string },
  outcome: CommandRecord['outcome'],
): Promise<void> {
  await db.query(RECORD_OUTCOME_SQL, [
    record.commandId,
    record.commandType,
    record.payloadHash,
    record.correlationId,
    JSON.stringify(outcome),
  ]);
}
