import { refusedInFailedTransaction, type Db, type Queryable } from '../db';
import { checkedIdleTimeout, checkFunction, checkPool, type ConsumeOptions } from './consumeOptions';
import { EffectWentOnPastFailureError } from './EffectWentOnPastFailureError';
import { checkedKey, ConsumerName, ProcessedMessageId } from './processedMessageKeys';

// Deliveries of one message wait for each other on a transaction-scoped advisory lock,
// which gives the transaction no id: the effect may then append to the event store,
// whose append must be its transaction's first write. The record is written last.
const LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0)) IS NULL AS locked";
const SEEN_SQL = 'SELECT EXISTS (SELECT FROM processed_messages WHERE consumer = $1 AND message_id = $2) AS seen';
// Aged from its commit, near enough (the record is the transaction's last statement), not from
// the transaction's start: a slow effect's record would otherwise be older than its message's processing.
const RECORD_SQL = 'INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES ($1, $2, clock_timestamp())';

/**
 * Runs `effect` unless this consumer already processed `messageId`, recording the
 * id in the same transaction as the effect: both commit, or neither does. Two
 * deliveries racing each other wait on a lock of the message's, so one of them
 * runs the effect and the other sees its record. The transaction is ended by the
 * server once idle for `idleTimeoutMs` (default 60 s; ConsumeOptions). An
 * effect that went on past a failed statement is refused with
 * EffectWentOnPastFailureError; `db` must be the pool, as the transaction is
 * processOnce's own (ConsumeOptionsError otherwise, before any statement).
 */
export async function processOnce(
  db: Db,
  consumer: string,
  messageId: string,
  effect: (tx: Queryable) => Promise<void>,
  options: Pick<ConsumeOptions, 'idleTimeoutMs'> = {},
): Promise<{ processed: boolean }> {
  const key = [checkedKey(ConsumerName, consumer), checkedKey(ProcessedMessageId, messageId)];
  checkPool(db);
  checkFunction('effect', effect);
  const idleTimeoutMs = checkedIdleTimeout(options);
  return db.transaction(async (tx) => {
    await tx.query(LOCK_SQL, key, { name: 'processed_message_lock' });
    const { rows } = await tx.query<{ seen: boolean }>(SEEN_SQL, key, { name: 'processed_message_seen' });
    if (rows[0]?.seen) return { processed: false };
    try {
      await effect(tx);
      await tx.query(RECORD_SQL, key, { name: 'processed_message_insert' });
    } catch (error) {
      throw refusedInFailedTransaction(error) ? new EffectWentOnPastFailureError(consumer, messageId, error) : error;
    }
    return { processed: true };
  }, { idleTimeoutMs });
}
