import { acquirePartitionLease, releasePartitionLease } from '../processing';
import { eventMessagesById } from './eventMessages';
import { requeuedMessages, unparkMessages, type ParkedMessage } from './parkedMessages';
import { publishBatch, sendOrPark, type PublishingSession } from './publishBatch';
import type { PublishMessage } from './PublishMessage';
import { EVENTS_PUBLISHER, OUTBOX_PUBLISHER } from './publisherProcessors';

const REQUEUED_PER_RUN = 100;
const PUBLISHERS = { events: EVENTS_PUBLISHER, outbox: OUTBOX_PUBLISHER };

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

// One instance at a time sends the requeued messages: two runs at once (the schedule
// and a nudge) would each send them, and count a refusal twice.
const REQUEUE_LEASE = { group: 'publisher:requeued', partitions: 1 };

export interface RequeueTurn {
  holder: string;
  leaseTtlMs: number;
  /** No round of publishes starts after it; what is not sent stays requeued. */
  deadline: number;
}

/**
 * Sends again the parked messages a person requeued: stored ones leave the
 * parked list, refused ones are parked again with the new error, and those
 * NATS did not answer (or not sent before the deadline) stay requeued for the
 * next run. Requeued messages have no checkpoint: each stored one leaves the
 * list, also behind one still waiting. Another instance sending them now has
 * the turn, and this run leaves them to it.
 */
export async function publishRequeued(session: PublishingSession, turn: RequeueTurn): Promise<number> {
  if ((await requeuedMessages(session.db, 1, PUBLISHERS)).messages.length === 0) return 0;
  const lease = await acquirePartitionLease(session.db, { ...REQUEUE_LEASE, holder: turn.holder, ttlMs: turn.leaseTtlMs });
  if (!lease) return 0;
  try {
    // Not renewed: no round starts once half of it is gone, so its turn never outlives it.
    return await sendRequeued(session, Math.min(turn.deadline, Date.now() + turn.leaseTtlMs / 2));
  } finally {
    // Left to run out, it would hold the next run's turn for a lease's time.
    await releasePartitionLease(session.db, lease).catch(() => undefined);
  }
}

async function sendRequeued(session: PublishingSession, deadline: number): Promise<number> {
  // Read again under the lease: another instance may have sent them since.
  const { messages: parked, readAt } = await requeuedMessages(session.db, REQUEUED_PER_RUN, PUBLISHERS);
  if (parked.length === 0) return 0;
  const messages = await messagesOf(session, parked);
  const sources = new Map(parked.map((message) => [message.messageId, message.source]));
  let sent = 0;
  // The source of the message requeued first goes first: the other waits for it, and a turn that ends early leaves it the rest.
  for (const source of new Set(parked.map((message) => message.source))) {
    // A batch's first round always starts: none starts once the turn is over.
    if (Date.now() >= deadline) break;
    const batch = messages.filter((message) => sources.get(message.messageId) === source);
    const before = session.tally.report.published;
    // A subject routing gave that NATS cannot carry stays as it was parked.
    const outcome = await publishBatch(session, source, batch.map((message) => sendOrPark(message, 'unusable subject')), { deadline, requeuesReadAt: readAt });
    sent += session.tally.report.published - before;
    await unparkMessages(session.db, [...outcome.published]);
  }
  return sent;
}
