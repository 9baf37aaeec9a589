import { exactTimestampText } from '../db';
import * as z from '../schema';
import { getProjectionStatus, ProjectionDefinitionError, ProjectionNotFoundError, rebuildProjection } from '../projections';
import { discardParkedMessage, listParkedMessages, readPublishingStatus, requeueParkedMessage, type ListedParkedMessage } from '../publishing';
import { readSagaInstance } from '../sagas';
import { BrowserConflictError, BrowserNotFoundError } from './browserErrors';
import type { BrowserSources } from './BrowserSources';
import { decodeCursor, encodeCursor, PageLimit, parseQuery } from './pageCursor';
import { isUuid, UuidText } from '../ids/uuidText';

// The cursor's `at` is updated_at to the microsecond, as stored: cut to a Date's
// milliseconds, it would lie below the instances changed within that millisecond,
// and the next page, which starts below it, would skip them.
const SAGAS_SQL = `
  SELECT saga, saga_id, phase, failure, started_at, updated_at,
         ${exactTimestampText('updated_at')} AS updated_at_exact
  FROM saga_instances
  WHERE ($1::text IS NULL OR phase = $1) AND (updated_at, saga, saga_id) < ($2::timestamptz, $3, $4)
  ORDER BY updated_at DESC, saga DESC, saga_id DESC LIMIT $5`;

const SagasQuery = z.object({ status: z.optional(z.enum(['running', 'compensating', 'completed', 'stuck'])), limit: PageLimit, cursor: z.optional(z.string()) });
const SagasCursor = z.object({ at: z.iso.datetime(), saga: z.string(), sagaId: z.string() });

/** `GET /browser/api/sagas?status=`: instances, the most recently changed first. */
export async function listSagas(sources: BrowserSources, query: Record<string, string | undefined>) {
  const { status, limit, cursor } = parseQuery(SagasQuery, query);
  const after = decodeCursor(cursor, SagasCursor) ?? { at: 'infinity', saga: '', sagaId: '' };
  const { rows } = await sources.db.query<{ saga: string; saga_id: string; phase: string; failure: object | null; started_at: Date; updated_at: Date; updated_at_exact: string }>(
    SAGAS_SQL,
    [status ?? null, after.at, after.saga, after.sagaId, limit + 1],
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    sagas: page.map((row) => ({ saga: row.saga, sagaId: row.saga_id, phase: row.phase, failure: row.failure, startedAt: row.started_at.toISOString(), updatedAt: row.updated_at.toISOString() })),
    nextCursor: rows.length > limit && last ? encodeCursor({ at: last.updated_at_exact, saga: last.saga, sagaId: last.saga_id }) : null,
  };
}

/** `GET /browser/api/sagas/{sagaId}`: every saga's instance with that id, with its timeline, steps and pending timeouts. */
export async function sagaInstances(sources: BrowserSources, sagaId: string) {
  const instances = (await Promise.all(sources.sagas.map((saga) => readSagaInstance(sources.db, saga, sagaId)))).flatMap((instance) => (instance ? [instance] : []));
  if (instances.length === 0) throw new BrowserNotFoundError('SAGA_NOT_FOUND', `No saga instance ${sagaId}`, { sagaId });
  return { sagaId, instances };
}

/** `GET /browser/api/projections`: each projection's generations, partitions, lag and rebuild progress. */
export async function projectionsHealth(sources: BrowserSources) {
  return { projections: await getProjectionStatus(sources.db) };
}

const ParkedQuery = z.object({ limit: PageLimit, cursor: z.optional(z.string()) });
const ParkedCursor = z.object({ parkedAt: z.iso.datetime(), messageId: UuidText, source: z.enum(['events', 'outbox']) });

/** A parked message as the API shows it: where it stands in the list is the page's `nextCursor`. */
const parkedView = ({ messageId, source, orderingKey, subject, error, refusals, parkedAt, requeuedAt, onItsWay }: ListedParkedMessage) => ({
  messageId,
  source,
  orderingKey,
  subject,
  error,
  refusals,
  parkedAt,
  requeuedAt,
  onItsWay,
});

/** `GET /browser/api/publishing`: backlog, oldest waiting, and a page of the parked messages. */
export async function publishingHealth(sources: BrowserSources, query: Record<string, string | undefined>) {
  const { limit, cursor } = parseQuery(ParkedQuery, query);
  const after = decodeCursor(cursor, ParkedCursor);
  const [status, parked] = await Promise.all([
    readPublishingStatus(sources.db),
    listParkedMessages(sources.db, { limit: limit + 1, ...(after ? { after } : {}) }),
  ]);
  const page = parked.slice(0, limit);
  const last = page.at(-1);
  return {
    events: { backlog: status.events.backlog, oldestAgeSeconds: status.events.oldestAgeSeconds },
    outbox: { backlog: status.outbox.backlog, oldestAgeSeconds: status.outbox.oldestAgeSeconds },
    parkedCount: status.parked,
    requeuedCount: status.requeued,
    parked: page.map(parkedView),
    nextCursor: parked.length > limit && last ? encodeCursor(last.position) : null,
  };
}

/** `POST /browser/api/projections/{name}/rebuild`: starts a new generation beside the serving one. */
export async function rebuildProjectionAction(sources: BrowserSources, name: string) {
  const projection = sources.projections.find((candidate) => candidate.name === name);
  if (!projection) throw new BrowserNotFoundError('PROJECTION_NOT_FOUND', `No projection ${name}`, { name });
  try {
    return { projection: name, generation: await rebuildProjection(sources.db, projection) };
  } catch (error) {
    if (error instanceof ProjectionNotFoundError) {
      throw new BrowserNotFoundError('PROJECTION_NOT_FOUND', `Projection ${name} has not been built yet: the projector builds it on its first run`, { name });
    }
    if (error instanceof ProjectionDefinitionError) throw new BrowserConflictError('PROJECTION_VERSION_MISMATCH', error.message, { name });
    throw error;
  }
}

const RequeueQuery = z.object({ source: z.optional(z.enum(['events', 'outbox'])) });

/**
 * `POST /browser/api/publishing/parked/{messageId}/requeue[?source=events|outbox]`: puts
 * a parked message back in line for the next publisher run; without a source, every
 * message parked under that id (an event and an integration message may share one).
 */
export async function requeueAction(sources: BrowserSources, messageId: string, query: Record<string, string | undefined> = {}) {
  const { source } = parseQuery(RequeueQuery, query);
  if (!isUuid(messageId) || !(await requeueParkedMessage(sources.db, messageId, source))) {
    throw new BrowserNotFoundError('PARKED_MESSAGE_NOT_FOUND', `No parked message ${messageId}${source ? ` from ${source}` : ''}`, { messageId, ...(source ? { source } : {}) });
  }
  return { messageId, ...(source ? { source } : {}), requeued: true };
}

/**
 * `POST /browser/api/publishing/parked/{messageId}/discard[?source=events|outbox]`: takes
 * a parked message off the list for good, never to be sent. A requeued one (on its way
 * out again), or one its publisher has not passed yet, is refused with a conflict.
 */
export async function discardAction(sources: BrowserSources, messageId: string, query: Record<string, string | undefined> = {}) {
  const { source } = parseQuery(RequeueQuery, query);
  const outcome = await discardParkedMessage(sources.db, messageId, source);
  const named = { messageId, ...(source ? { source } : {}) };
  switch (outcome) {
    case 'discarded':
      return { ...named, discarded: true };
    case 'not_parked':
      throw new BrowserNotFoundError('PARKED_MESSAGE_NOT_FOUND', `No parked message ${messageId}${source ? ` from ${source}` : ''}`, named);
    case 'requeued':
      throw new BrowserConflictError('PARKED_MESSAGE_REQUEUED', `Parked message ${messageId} is requeued: it goes out, or is parked again, once its publisher has passed it`, named);
    case 'not_passed_yet':
      throw new BrowserConflictError('PARKED_MESSAGE_NOT_PASSED', `Parked message ${messageId} is not behind its publisher's checkpoint yet: try again after the next publisher run`, named);
  }
}
