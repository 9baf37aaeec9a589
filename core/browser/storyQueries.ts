import type { Queryable } from '../db';
import { EVENT_COLUMNS } from '../eventstore';
import { CORRELATION_OF_EVENT, STORY_INDEXER, TRACE_OF_EVENT } from './storyKeys';

/**
 * How the browser finds a story's events: through story_keys up to the story
 * indexer's checkpoint, and from the events themselves past it (the feed index
 * walks to them), so an event is found the moment it commits.
 *
 * The checkpoint is read first and given to the query as values: planned for
 * them, the walk past it takes the feed index from there; planned for an
 * unknown place (a subquery's; a third of the table, PostgreSQL's guess), it
 * scanned every event. A batch the indexer commits in between leaves its events
 * in both halves, and the queries keep each once; none is missed, since every
 * event up to the checkpoint was indexed before it was read. They are sent
 * unnamed, so planned for each checkpoint: a statement prepared while the
 * checkpoint was at the start of the feed could keep a plan that walks it all.
 */

/** The checkpoint as text, `[tx, position]`: the start of the feed before the indexer's first batch. */
export type StoryCheckpoint = readonly [string, string];

const CHECKPOINT_SQL = 'SELECT checkpoint_tx::text AS tx, checkpoint_position::text AS position FROM processor_partitions WHERE processor = $1 AND partition = 0';

export async function storyCheckpoint(db: Queryable): Promise<StoryCheckpoint> {
  const { rows } = await db.query<{ tx: string; position: string }>(CHECKPOINT_SQL, [STORY_INDEXER], { name: 'story_checkpoint' });
  const [row] = rows;
  return row ? [row.tx, row.position] : ['0', '0'];
}

// The events past the checkpoint, parameters `at` (its transaction) and `at + 1` (its position).
const notYetIndexed = (at: number) => `events e WHERE (e.tx_id, e.global_position) > ($${at}::xid8, $${at + 1}::bigint)`;

/**
 * $1 the correlation id, $2 the most to read, $3 and $4 the checkpoint: its
 * events in feed position order, each once. Each half stops at the limit
 * before any event's row is read.
 */
export const EVENTS_BY_CORRELATION_SQL = `
  WITH found AS (
    (SELECT k.tx_id, k.global_position FROM story_keys k WHERE k.correlation_id = $1 ORDER BY k.global_position LIMIT $2)
    UNION
    (SELECT e.tx_id, e.global_position FROM ${notYetIndexed(3)} AND ${CORRELATION_OF_EVENT} = $1 ORDER BY e.global_position LIMIT $2)),
  first AS (SELECT f.tx_id, f.global_position FROM found f ORDER BY f.global_position LIMIT $2)
  SELECT ${EVENT_COLUMNS} FROM first f JOIN events e ON e.tx_id = f.tx_id AND e.global_position = f.global_position
  ORDER BY e.global_position`;

/** $1 the trace id, $2 and $3 the checkpoint: the correlations of its events, each with its first event's position, first first. */
export const CORRELATIONS_BY_TRACE_SQL = `
  WITH traced AS (
    SELECT k.correlation_id, k.global_position FROM story_keys k WHERE k.trace_id = $1
    UNION ALL
    SELECT ${CORRELATION_OF_EVENT}, e.global_position FROM ${notYetIndexed(2)} AND ${TRACE_OF_EVENT} = $1)
  SELECT t.correlation_id, min(t.global_position) AS first FROM traced t GROUP BY 1 ORDER BY 2 LIMIT 100`;

/** Whether an event's key is $1, indexed in `column` or read past the checkpoint (at `at` and `at + 1`) as `ofEvent`. */
const hasKey = (column: 'correlation_id' | 'trace_id', ofEvent: string) => (at: number) => `EXISTS (SELECT 1 FROM story_keys k WHERE k.${column} = $1)
      OR EXISTS (SELECT 1 FROM ${notYetIndexed(at)} AND ${ofEvent} = $1)`;

/** Whether an event carries the correlation id $1; the checkpoint at `at` and `at + 1`. */
export const hasCorrelation = hasKey('correlation_id', CORRELATION_OF_EVENT);

/** Whether an event belongs to the trace $1; the checkpoint at `at` and `at + 1`. */
export const hasTrace = hasKey('trace_id', TRACE_OF_EVENT);
