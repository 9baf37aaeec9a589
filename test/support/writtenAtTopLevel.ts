/**
 * SQL true for a row the current transaction wrote at its top level, false for
 * one written in a savepoint still open (a subtransaction has an id of its own).
 * xmin holds the low 32 bits of the writer's transaction id.
 */
export const WRITTEN_AT_TOP_LEVEL = 'xmin::text = (pg_current_xact_id()::text::bigint % 4294967296)::text';
