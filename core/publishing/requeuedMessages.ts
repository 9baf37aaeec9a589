import { eventMessagesById } from './eventMessages';
import { requeuedMessages, unparkMessages, type ParkedMessage } from './parkedMessages';
import { publishBatch, sendOrPark, type PublishingSession } from './publishBatch';
import type { PublishMessage } from './PublishMessage';

const REQUEUED_PER_RUN = 100;

interface OutboxRow {
  message_id: string;
  ordering_key: string;
  subject: string;
  payload: string;
  headers: Record<string, string>;
}

async function messagesOf(session: PublishingSession, parked: readonly ParkedMessage[]): Promise<PublishMessage[]> {
  const ids = (source: ParkedMessage['source']) => parked.filter((message) => message.source === source).map((message) => message.messageId);
  // Each source in its own order, the order its messages were first sent in, so a key's requeued messages keep it.
  const events = await eventMessagesById(session.db, ids('events'));
  const { rows } = await session.db.query<OutboxRow>(
    'SELECT message_id, ordering_key, subject, payload::text AS payload, headers FROM outbox WHERE message_id = ANY ($1::uuid[]) ORDER BY tx_id, id',
    [ids('outbox')],
  );
  const subjects = new Map(parked.map((message) => [message.messageId, message.subject]));
  return [
    ...events.map((event) => ({
      messageId: event.eventId,
      orderingKey: event.streamId,
      subject: subjects.get(event.eventId) ?? '',
      payload: event.payload,
      headers: event.headers,
    })),
    ...rows.map((row) => ({ messageId: row.message_id, orderingKey: row.ordering_key, subject: row.subject, payload: row.payload, headers: row.headers })),
  ];
}

/**
 * Sends again the parked messages a person requeued: stored ones leave the
 * parked list, refused ones are parked again with the new error, and those
 * NATS did not answer stay requeued for the next run. Requeued messages have
 * no checkpoint: each stored one leaves the list, also behind one still waiting.
 */
export async function publishRequeued(session: PublishingSession): Promise<number> {
  const parked = await requeuedMessages(session.db, REQUEUED_PER_RUN);
  if (parked.length === 0) return 0;
  const messages = await messagesOf(session, parked);
  const sources = new Map(parked.map((message) => [message.messageId, message.source]));
  let sent = 0;
  for (const source of ['events', 'outbox'] as const) {
    const batch = messages.filter((message) => sources.get(message.messageId) === source);
    const before = session.tally.report.published;
    // A subject routing gave that NATS cannot carry stays as it was parked.
    const outcome = await publishBatch(session, source, batch.map((message) => sendOrPark(message, 'unusable subject')));
    sent += session.tally.report.published - before;
    await unparkMessages(session.db, [...outcome.published]);
  }
  return sent;
}
