import { ConnectionLostError } from './ConnectionLostError';
import { asDatabaseError } from './databaseError';

/** SQLSTATE idle_in_transaction_session_timeout. */
export const IDLE_IN_TRANSACTION_TIMEOUT = '25P03';

/** Whether the server ended a transaction (and its connection) for sitting idle past its `idleTimeoutMs`. */
export const idleTransactionEnded = (error: unknown): boolean =>
  error instanceof ConnectionLostError && asDatabaseError(error.cause)?.code === IDLE_IN_TRANSACTION_TIMEOUT;
