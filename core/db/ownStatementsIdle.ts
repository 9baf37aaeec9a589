/**
 * The idle bound of a transaction that runs only the framework's own
 * statements, one after another (an append's lock and insert, a cleanup's
 * delete): idle between them only while its process is frozen (a paused VM or
 * container), when it would hold its locks, and the feed's horizon, for as long
 * as its connection lives. Far above any pause of a loaded event loop.
 */
export const OWN_STATEMENTS_IDLE_MS = 10_000;
