import { abortedByOtherWriter, isDb, OWN_STATEMENTS_IDLE_MS, type Queryable } from '../db';
import { inSpan, metrics, SpanKind } from '../observability';
import { diagnoseRefusedAppend, toAppendError } from './appendErrors';
import { appendStatement, appendStatementName, type AppendShape } from './appendStatement';
import { appendShapeError } from './appendShape';
import { ConcurrencyError } from './errors';
import { withRequestContext } from './requestContextMetadata';
import type { AppendRequest, AppendResult, EventShape } from './types';
import { NO_UPCASTING, type EventUpcaster } from './upcasterPort';
import { DEFAULT_MAX_EVENT_BYTES, storeOptionsError, validateAppend, type SerializedAppend } from './validateAppend';

export interface AppendOptions {
  maxEventBytes?: number;
  upcaster?: EventUpcaster;
}

/** Where the append runs: on its own (autocommit) or inside a caller's transaction. */
export type AppendScope = 'own-transaction' | 'callers-transaction';

/** A row the append statement returns (`returnedColumns`), as an array; the version only after the stream's head. */
type AppendedRow = [globalPosition: string, txId: string, version?: number];

// Prepared once per variant: the text is built from the shape, so it is the same each time.
const statements = new Map<string, { name: string; text: string }>();

function statementFor(shape: AppendShape): { name: string; text: string } {
  const name = appendStatementName(shape);
  let statement = statements.get(name);
  if (!statement) {
    statement = { name, text: appendStatement(shape) };
    statements.set(name, statement);
  }
  return statement;
}

function parametersOf(request: AppendRequest, serialized: SerializedAppend, shape: AppendShape): unknown[] {
  const { expectedVersion } = request;
  const expected = expectedVersion === 'no_stream' ? 0 : expectedVersion;
  const [only] = serialized.events;
  const events = shape.batch || !only
    ? [`[${serialized.events.map((event) => `{"eventId":"${event.eventId}",${event.chosenId ? '"chosen":true,' : ''}"type":${JSON.stringify(event.type)},"schemaVersion":${event.schemaVersion},"data":${event.data},"metadata":${event.metadata}}`).join(',')}]`]
    : [only.eventId, only.type, only.schemaVersion, only.data, only.metadata];
  const command = request.idempotency;
  return [
    request.streamId,
    request.streamType,
    expected,
    ...events,
    ...(command ? [command.commandId, command.commandType, command.payloadHash, command.correlationId ?? null] : []),
    ...(serialized.messages === null ? [] : [serialized.messages]),
  ];
}

/** `any` never conflicts: a version taken by a racing writer is taken again after it, this many times. */
const ANY_VERSION_TRIES = 10;

// PostgreSQL ends a deadlock (or, under serializable isolation, a conflict) by
// aborting one transaction in it. Appends sharing caller-chosen event or message
// ids in opposite order deadlock on the ids' unique index. On its own the aborted
// append wrote nothing; tried again once the other has ended, it gets the answer
// it would have had (most often DuplicateEventError), not a raw 40P01. Tried
// again at once, it raced the other append, still inserting, to the same ids and
// deadlocked again (each time after the server's deadlock_timeout, 1 s by
// default) until its tries ran out: it waits first, longer each time, with jitter.
const ABORTED_APPEND_TRIES = 5;
const ABORTED_APPEND_BACKOFF_MS = 50;

const backoffAfterAbort = (aborts: number) =>
  new Promise((resolve) => setTimeout(resolve, ABORTED_APPEND_BACKOFF_MS * 2 ** (aborts - 1) * (0.5 + Math.random() / 2)));

/**
 * Appends events to one stream in a single statement: the expected version is
 * checked and all events are stored atomically, or nothing is written and a
 * typed error is thrown. The command's outcome and the integration messages go
 * in the same statement. Inside a caller's transaction it must be the first write.
 * Given a pool (a `Db`), the append runs on its own unless told otherwise.
 */
export function appendToStream<E extends EventShape>(
  db: Queryable,
  request: AppendRequest<E>,
  options: AppendOptions = {},
  scope: AppendScope = isDb(db) ? 'own-transaction' : 'callers-transaction',
): Promise<AppendResult> {
  // Input from outside may not be a request at all: it is refused before anything reads it.
  const malformed = appendShapeError(request) ?? storeOptionsError(options);
  if (malformed) return Promise.reject(malformed);
  const attributes = { 'eventstore.stream_id': request.streamId, 'eventstore.stream_type': request.streamType, 'eventstore.events': request.events.length };
  return inSpan(`append ${request.streamType}`, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
    const started = performance.now();
    try {
      const result = await appendTraced(db, withRequestContext(request), options, scope);
      span.setAttribute('eventstore.version', result.nextExpectedVersion);
      return result;
    } catch (error) {
      if (error instanceof ConcurrencyError) metrics.count('AppendConflicts', 1, { streamType: request.streamType });
      throw error;
    } finally {
      metrics.observe('AppendLatency', performance.now() - started, 'milliseconds', { streamType: request.streamType });
    }
  });
}

async function appendTraced<E extends EventShape>(db: Queryable, request: AppendRequest<E>, options: AppendOptions, scope: AppendScope): Promise<AppendResult> {
  const serialized = validateAppend(request, options.upcaster ?? NO_UPCASTING, options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES);
  // Inside a caller's transaction a conflict has aborted it: only the caller can try again.
  const conflictTries = request.expectedVersion === 'any' && scope === 'own-transaction' ? ANY_VERSION_TRIES : 1;
  const abortTries = scope === 'own-transaction' ? ABORTED_APPEND_TRIES : 1;
  let conflicts = 0;
  let aborts = 0;
  for (;;) {
    try {
      return await appendOnce(db, request, serialized, scope);
    } catch (error) {
      if (error instanceof ConcurrencyError && ++conflicts < conflictTries) continue;
      if (abortedByOtherWriter(error) && ++aborts < abortTries) {
        await backoffAfterAbort(aborts);
        continue;
      }
      throw error;
    }
  }
}

// The stream's lock: appends that read the stream's newest event (stream_exists, any) take
// it first, so that one statement later, in a fresh snapshot, they see every append that
// held it before them (every append takes it), and so never conflict.
const STREAM_LOCK_SQL = 'SELECT pg_advisory_xact_lock(1163067393, hashtext($1)) IS NULL AS locked';
// In a caller's transaction that has written already, the append is refused (its first-write
// guard), and must not wait for the stream's lock first: it would wait out another writer's
// transaction, holding its own streams' locks, and two such transactions (a transfer each way
// between two streams) deadlock where each should be refused at once.
const GUARDED_STREAM_LOCK_SQL =
  'SELECT CASE WHEN pg_current_xact_id_if_assigned() IS NULL THEN pg_advisory_xact_lock(1163067393, hashtext($1)) IS NULL END AS locked';

const SAVEPOINT_SQL = 'SAVEPOINT append_to_stream';
const RELEASE_SQL = 'RELEASE SAVEPOINT append_to_stream';
const ROLLBACK_TO_SQL = 'ROLLBACK TO SAVEPOINT append_to_stream';

/**
 * In a caller's transaction, the stream's lock is taken in a savepoint: an
 * append the stream refuses (not found, another type, not the first write)
 * writes nothing and leaves the transaction usable, so it must not leave the
 * lock held either, holding up every other append to the stream until the
 * caller's transaction ends. A statement that fails aborts the caller's
 * transaction, whose end then releases the lock.
 */
async function insertHeldUntilRefused(tx: Queryable, insert: (target: Queryable) => Promise<AppendedRow[]>): Promise<AppendedRow[]> {
  await tx.query(SAVEPOINT_SQL);
  const rows = await insert(tx);
  // Released after its rollback too: the caller goes on in its own transaction, not in the savepoint.
  if (rows.length === 0) await tx.query(ROLLBACK_TO_SQL);
  await tx.query(RELEASE_SQL);
  return rows;
}

/**
 * Appends sent at once on one caller's transaction go in turn, whatever their
 * expected versions: the driver queues their statements on the one
 * connection, so another append's insert would land inside an `any` or
 * `stream_exists` append's savepoint, and that append's refusal roll back
 * what the other had already answered as stored. (A statement of the caller's
 * own sent meanwhile would be rolled back the same way: one transaction runs
 * one statement at a time, and an append must not share it with others in flight.)
 */
function inTurn<Result>(tx: Queryable, append: () => Promise<Result>, atOnce: boolean): Promise<Result> {
  const before = appendsInFlight.get(tx);
  // An exact append (one statement) with none in flight starts at once, as the caller sent it:
  // a statement the caller sends right after it (a read of what it appended) goes after it. One
  // in a savepoint starts a turn later, so that a write sent right after it goes first and has
  // it refused as not the first write, rather than land in its savepoint and be rolled back.
  const mine = before ? before.then(append) : atOnce ? append() : Promise.resolve().then(append);
  const settled = mine.then(
    () => undefined,
    () => undefined,
  );
  appendsInFlight.set(tx, settled);
  void settled.then(() => {
    if (appendsInFlight.get(tx) === settled) appendsInFlight.delete(tx);
  });
  return mine;
}

/** Per caller's transaction, the end of the last append sent on it. */
const appendsInFlight = new WeakMap<Queryable, Promise<void>>();

async function appendOnce(db: Queryable, request: AppendRequest, serialized: SerializedAppend, scope: AppendScope): Promise<AppendResult> {
  const { expectedVersion } = request;
  const shape: AppendShape = {
    check: typeof expectedVersion === 'number' || expectedVersion === 'no_stream' ? 'exact' : 'head',
    batch: serialized.events.length > 1,
    guardFirstWrite: scope === 'callers-transaction',
    recordCommand: request.idempotency === undefined ? 'no' : (request.idempotency.existing ?? 'none') === 'pending' ? 'pending' : 'new',
    messages: serialized.messages !== null,
    givenEventIds: request.events.some((event) => event.eventId !== undefined),
  };
  const { name, text } = statementFor(shape);
  const params = parametersOf(request, serialized, shape);
  const insert = async (target: Queryable) => {
    if (shape.check === 'head') {
      const lock = shape.guardFirstWrite ? { text: GUARDED_STREAM_LOCK_SQL, name: 'append_guarded_stream_lock' } : { text: STREAM_LOCK_SQL, name: 'append_stream_lock' };
      await target.query(lock.text, [request.streamId], { name: lock.name });
    }
    return (await target.query<AppendedRow>(text, params, { name, rowMode: 'array' })).rows;
  };
  let rows: AppendedRow[];
  try {
    if (scope === 'callers-transaction') rows = await inTurn(db, () => (shape.check === 'exact' ? insert(db) : insertHeldUntilRefused(db, insert)), shape.check === 'exact');
    else if (shape.check === 'exact') rows = await insert(db);
    else if (isDb(db)) rows = await db.transaction(insert, { idleTimeoutMs: OWN_STATEMENTS_IDLE_MS });
    else rows = await inTurn(db, () => insertHeldUntilRefused(db, insert), false);
  } catch (error) {
    const refusal = toAppendError(error, request);
    // On its own, the append can look up how far the stream got; a caller's transaction is aborted by now.
    if (refusal instanceof ConcurrencyError && scope === 'own-transaction') throw await diagnoseRefusedAppend(db, request);
    throw refusal;
  }
  if (rows.length === 0) throw await diagnoseRefusedAppend(db, request);
  return appendResult(request, serialized, rows, shape.check);
}

/**
 * The events as stored. A batch is inserted in the request's order, so sorted by feed
 * position the i-th row is the i-th event's; its version follows the expected one, or,
 * after the stream's head, is the one the statement returned. Ids are given back as
 * PostgreSQL writes a UUID, in lower case.
 */
function appendResult(request: AppendRequest, serialized: SerializedAppend, rows: AppendedRow[], check: AppendShape['check']): AppendResult {
  const stored = rows.map(([position, , version]) => ({ position: BigInt(position), version })).sort((a, b) => (a.position < b.position ? -1 : 1));
  const { expectedVersion } = request;
  const after = typeof expectedVersion === 'number' ? expectedVersion : 0;
  const events = serialized.events.map((event, index) => {
    const row = stored[index];
    return {
      eventId: event.chosenId ? event.eventId.toLowerCase() : event.eventId,
      version: check === 'head' ? Number(row?.version) : after + index + 1,
      globalPosition: row?.position ?? 0n,
    };
  });
  const last = events[events.length - 1];
  return {
    streamId: request.streamId,
    nextExpectedVersion: last?.version ?? 0,
    events,
    checkpoint: { txId: BigInt(rows[0]?.[1] ?? 0), position: last?.globalPosition ?? 0n },
  };
}
