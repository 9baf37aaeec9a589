/**
 * The idle bound of a transaction with no caller code between its statements
 * (an append's lock and insert, a cleanup's delete, a failure counted apart, a
 * migration, restore-check's rewrite; docs/event-store.md lists them): idle
 * between them only while its process is frozen (a paused VM or
 * container), when it would hold its locks, and the feed's horizon, for as long
 * as its connection lives. Far above any pause of a loaded event loop; but the
 * server counts the next message still arriving as idle too (a prepared
 * statement's parameters, a migration file), so an append of tens of MiB over
 * a slow link (under about 50 Mbit/s) is ended.
 */
export const OWN_STATEMENTS_IDLE_MS = 10_000;
