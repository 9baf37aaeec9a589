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

export interface RecordKey {
  commandId: string;
  commandType: string;
  payloadHash: string;
  correlationId: string;
}

// A new record, or a sent command's pending one completed; anything else there (an
// outcome, another payload) is left alone and nothing is returned.
const RECORD_SQL = `
  INSERT INTO commands AS c (command_id, command_type, payload_hash, correlation_id, status, outcome, error)
  VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)
  ON CONFLICT (command_id) DO UPDATE
    SET status = EXCLUDED.status, outcome = EXCLUDED.outcome, error = EXCLUDED.error, updated_at = now()
    WHERE c.status = 'pending' AND c.payload_hash = EXCLUDED.payload_hash
  RETURNING 1`;

/**
 * Records how a command ended without an append to carry it: it decided no
 * events (an outcome), or a rule refused it (an error). False when the id
 * already has a record this one may not replace: the caller answers from it.
 */
export async function recordEnding(
  db: Queryable,
  key: RecordKey,
  ending: { status: 'succeeded'; outcome: CommandRecord['outcome'] } | { status: 'failed'; error: unknown },
): Promise<boolean> {
  const { rowCount } = await db.query(RECORD_SQL, [
    key.commandId,
    key.commandType,
    key.payloadHash,
    key.correlationId,
    ending.status,
    ending.status === 'succeeded' ? JSON.stringify(ending.outcome) : null,
    ending.status === 'failed' ? JSON.stringify(ending.error) : null,
  ]);
  return rowCount === 1;
}
