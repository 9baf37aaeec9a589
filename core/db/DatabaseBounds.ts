/** How long a pool waits for the database (`DB_CONNECT_TIMEOUT_MS`, `DB_QUERY_TIMEOUT_MS`); 0 or left out: for ever. */
export interface DatabaseBounds {
  /** How long opening a connection may take, start-up included. Waiting for a pooled one is not bounded. */
  connectTimeoutMs?: number;
  /** How long a statement may go unanswered before its connection is closed. */
  queryTimeoutMs?: number;
}
