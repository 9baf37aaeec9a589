/**
 * Node's timers fire at once past this (a lease, a backoff between
 * interruptions, a publish timeout); a failure's delay is added to now() in
 * PostgreSQL, where one far longer would fail the statement counting it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
