import type { Queryable } from '../../db';
import type { CommandFailure, CommandState } from './CommandStatus';

/** A command as `send` stores it, with what the worker needs to run it through the bus. */
export interface StoredCommand {
  commandId: string;
  commandType: string;
  payloadHash: string;
  /** The payload as the schema parsed it when it was sent. */
  payload: unknown;
  correlationId: string | undefined;
  /** The sender's causation id, written on the command's events when the worker runs it. */
  causationId: string | undefined;
  /** The sender's W3C trace context, carried onto the events likewise. */
  traceparent: string | undefined;
  status: CommandState;
}

interface StoredCommandRow {
  command_id: string;
  command_type: string;
  payload_hash: string;
  payload: unknown;
  correlation_id: string | null;
  causation_id: string | null;
  traceparent: string | null;
  status: CommandState;
}

// DO NOTHING on a known id: the caller then reads the existing row to tell a
// repeated send from a reused id. A row being inserted concurrently is waited
// for, so of two identical sends exactly one stores (and dispatches).
const STORE_PENDING_SQL = `
  INSERT INTO commands (command_id, command_type, payload_hash, payload, correlation_id, causation_id, traceparent, status)
  VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, 'pending')
  ON CONFLICT (command_id) DO NOTHING`;

/** Stores a new pending command; false if its id is already taken. */
export async function storePending(db: Queryable, command: Omit<StoredCommand, 'status'>): Promise<boolean> {
  const { rowCount } = await db.query(STORE_PENDING_SQL, [
    command.commandId,
    command.commandType,
    command.payloadHash,
    JSON.stringify(command.payload),
    command.correlationId ?? null,
    command.causationId ?? null,
    command.traceparent ?? null,
  ]);
  return rowCount === 1;
}

const READ_STORED_SQL = `
  SELECT command_id, command_type, payload_hash, payload, correlation_id, causation_id, traceparent, status
  FROM commands WHERE command_id = $1`;

export async function readStoredCommand(db: Queryable, commandId: string): Promise<StoredCommand | undefined> {
  const { rows } = await db.query<StoredCommandRow>(READ_STORED_SQL, [commandId], { name: 'read_stored_command' });
  const row = rows[0];
  if (!row) return undefined;
  return {
    commandId: row.command_id,
    commandType: row.command_type,
    payloadHash: row.payload_hash,
    payload: row.payload,
    correlationId: row.correlation_id ?? undefined,
    causationId: row.causation_id ?? undefined,
    traceparent: row.traceparent ?? undefined,
    status: row.status,
  };
}

// Only while pending: a racing run (the sweep's, a late worker's) may have
// succeeded meanwhile, and its outcome, with its events, is the truth.
const MARK_FAILED_SQL = `
  UPDATE commands SET status = 'failed', error = $2::jsonb, updated_at = now()
  WHERE command_id = $1 AND status = 'pending'`;

export async function markFailed(db: Queryable, commandId: string, failure: CommandFailure): Promise<void> {
  await db.query(MARK_FAILED_SQL, [commandId, JSON.stringify(failure)]);
}

// Bumping updated_at makes the sweep wait its full threshold before trying
// again: a backoff, so an outage is not hammered by re-dispatches.
const RECORD_UNFINISHED_RUN_SQL = `
  UPDATE commands SET attempts = attempts + 1, error = $2::jsonb, updated_at = now()
  WHERE command_id = $1 AND status = 'pending'`;

/** Counts a run that ended without a verdict, keeping its error for the status and the sweep's final one. */
export async function recordUnfinishedRun(db: Queryable, commandId: string, failure: CommandFailure): Promise<void> {
  await db.query(RECORD_UNFINISHED_RUN_SQL, [commandId, JSON.stringify(failure)]);
}
