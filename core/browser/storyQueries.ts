import { EVENT_COLUMNS } from '../eventstore';
import { STORY_INDEXER } from './storyIndexer';

/**
 * How the browser finds a story's events: through story_keys up to the story
 * indexer's checkpoint, and from the events themselves past it (the feed index
 * walks to them). Both halves are read in one statement's snapshot, in which
 * the keys and the checkpoint of every batch were committed together, so each
 * event is found exactly once, indexed or not.
 */

/**
 * A CTE, `indexed_to`: the story indexer's checkpoint, or the start of the feed
 * before its first batch. The name in it is this code's constant, never a request's text.
 */
export const INDEXED_TO = `indexed_to AS (
    SELECT coalesce(p.checkpoint_tx, '0'::xid8) AS tx, coalesce(p.checkpoint_position, 0) AS position
    FROM (VALUES (1)) AS one (x)
    LEFT JOIN processor_partitions p ON p.processor = '${STORY_INDEXER}' AND p.partition = 0)`;

// The events past the checkpoint, found by the feed index (the checkpoint as two
// values, not a join, for the index to start at it).
const NOT_YET_INDEXED = 'events e WHERE (e.tx_id, e.global_position) > ((SELECT i.tx FROM indexed_to i), (SELECT i.position FROM indexed_to i))';
const CORRELATION_OF_EVENT = "e.metadata ->> 'correlationId'";
const TRACE_OF_EVENT = "substr(e.metadata ->> 'traceparent', 4, 32)";

// Whether an event past the checkpoint meets `condition`, walked in the feed index's
// order: as an EXISTS, PostgreSQL bet on finding one early in a scan of the whole table.
const firstNotYetIndexed = (condition: string) =>
  `(SELECT true FROM ${NOT_YET_INDEXED} AND ${condition} ORDER BY e.tx_id, e.global_position LIMIT 1) IS NOT NULL`;

/** $1 the correlation id, $2 the most to read: its events in feed position order. */
export const EVENTS_BY_CORRELATION_SQL = `
  WITH ${INDEXED_TO}
  SELECT ${EVENT_COLUMNS} FROM (
    SELECT e.* FROM story_keys k JOIN events e ON e.tx_id = k.tx_id AND e.global_position = k.global_position
    WHERE k.correlation_id = $1
    UNION ALL
    SELECT e.* FROM ${NOT_YET_INDEXED} AND ${CORRELATION_OF_EVENT} = $1) AS e
  ORDER BY e.global_position LIMIT $2`;

/** $1 the trace id: the correlations of its events, each with its first event's position, first first. */
export const CORRELATIONS_BY_TRACE_SQL = `
  WITH ${INDEXED_TO},
  traced AS (
    SELECT k.correlation_id, k.global_position FROM story_keys k WHERE k.trace_id = $1
    UNION ALL
    SELECT ${CORRELATION_OF_EVENT}, e.global_position FROM ${NOT_YET_INDEXED} AND ${TRACE_OF_EVENT} = $1)
  SELECT t.correlation_id, min(t.global_position) AS first FROM traced t GROUP BY 1 ORDER BY 2 LIMIT 100`;

/** Whether an event carries the correlation id $1 (a condition, with INDEXED_TO in scope). */
export const HAS_CORRELATION = `EXISTS (SELECT 1 FROM story_keys k WHERE k.correlation_id = $1)
      OR ${firstNotYetIndexed(`${CORRELATION_OF_EVENT} = $1`)}`;

/** Whether an event belongs to the trace $1 (a condition, with INDEXED_TO in scope). */
export const HAS_TRACE = `EXISTS (SELECT 1 FROM story_keys k WHERE k.trace_id = $1)
      OR ${firstNotYetIndexed(`${TRACE_OF_EVENT} = $1`)}`;
