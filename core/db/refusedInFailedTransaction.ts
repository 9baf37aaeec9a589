import { asDatabaseError } from './databaseError';

// PostgreSQL's answer to every statement after one that failed, until the transaction ends.
const IN_FAILED_TRANSACTION = '25P02';

/**
 * Whether PostgreSQL refused the statement because an earlier one of its
 * transaction had failed: it says nothing of the statement itself, only that
 * its caller went on past that failure.
 */
export const refusedInFailedTransaction = (error: unknown): boolean => asDatabaseError(error)?.code === IN_FAILED_TRANSACTION;
