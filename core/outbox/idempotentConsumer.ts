import type { JsMsg } from '@nats-io/jetstream';
import { z } from 'zod';
import type { Db, Queryable } from '../db';

/** The body of every outbox message: the stored event's envelope. */
export const OutboxEnvelope = z.object({
  eventId: z.uuid(),
  type: z.string(),
  schemaVersion: z.number().int(),
  streamId: z.string(),
  streamType: z.string(),
  version: z.number().int(),
  globalPosition: z.string(),
  recordedAt: z.string(),
  data: z.record(z.string(), z.unknown()),
  metadata: z.record(z.string(), z.unknown()),
});
export type OutboxEnvelope = z.infer<typeof OutboxEnvelope>;

/**
 * Runs `effect` unless this consumer already processed `messageId`, recording the
 * id in the same transaction as the effect: both commit, or neither does. Two
 * deliveries racing each other wait on the record, so one of them runs the effect.
 */
export async function processOnce(
  db: Db,
  consumer: string,
  messageId: string,
  effect: (tx: Queryable) => Promise<void>,
): Promise<{ processed: boolean }> {
  return db.transaction(async (tx) => {
    const { rowCount } = await tx.query(
      'INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [consumer, messageId],
      { name: 'processed_message_insert' },
    );
    if (rowCount === 0) return { processed: false };
    await effect(tx);
    return { processed: true };
  });
}

export type MessageOutcome = 'processed' | 'duplicate' | 'failed';

/**
 * Handles one JetStream message from the outbox exactly once in effect: the
 * handler's writes and the processed record commit together, and the message is
 * acknowledged only after that commit. A failed handler writes nothing and the
 * message is redelivered after `retryDelayMs`; a redelivered, already processed
 * message is acknowledged without running the handler again.
 */
export async function handleOutboxMessage(
  db: Db,
  consumer: string,
  message: JsMsg,
  handler: (tx: Queryable, envelope: OutboxEnvelope) => Promise<void>,
  options: { retryDelayMs?: number } = {},
): Promise<MessageOutcome> {
  const envelope = OutboxEnvelope.parse(message.json());
  let outcome: MessageOutcome;
  try {
    const { processed } = await processOnce(db, consumer, envelope.eventId, (tx) => handler(tx, envelope));
    outcome = processed ? 'processed' : 'duplicate';
  } catch (error) {
    message.nak(options.retryDelayMs ?? 1_000);
    throw error;
  }
  await message.ackAck();
  return outcome;
}
