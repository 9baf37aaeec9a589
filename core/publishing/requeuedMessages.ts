import type { Queryable } from '../db';
import { acquirePartitionLease, fencedWrites, giveLeaseBack, PartitionLeaseLostError, type FencedWrites, type LeaseRelease } from '../processing';
import { eventMessagesById } from './eventMessages';
import { moveKeysBehind, requeuedMessages, unparkMessages, type ParkedMessage, type ParkedSource } from './parkedMessages';
import { publishBatch, sendOrPark, sendOrParkStoredMessage, type BatchEntry, type PublishedBatch, type PublishingSession } from './publishBatch';
import { EVENTS_PUBLISHER, OUTBOX_PUBLISHER, ROUTING_GAVE_UNUSABLE_SUBJECT } from './publisherProcessors';
import { storedMessage, type StoredMessage, type StoredMessageRow } from './storedMessage';

// A run sends requeued messages a page at a time, before the feed's, at most ten pages.
const REQUEUED_PER_PAGE = 100;
const REQUEUED_PAGES_PER_RUN = 10;
const PUBLISHERS = { events: EVENTS_PUBLISHER, outbox: OUTBOX_PUBLISHER };

/** The parked messages of one source as sent, in the order they were first sent (feed or outbox order), so a key's requeued messages keep it. */
async function messagesOf(session: PublishingSession, source: ParkedSource, parked: readonly ParkedMessage[]): Promise<StoredMessage[]> {
  const ids = parked.map((message) => message.messageId);
  if (source === 'events') {
    // Sent again on the subject routing gave when it was parked.
    const subjects = new Map(parked.map((message) => [message.messageId, message.subject]));
    const events = await eventMessagesById(session.db, ids);
    return events.map((event) => ({ messageId: event.eventId, orderingKey: event.streamId, subject: subjects.get(event.eventId) ?? '', payload: event.payload, headers: event.headers }));
  }
  const { rows } = await session.db.query<StoredMessageRow>(
    'SELECT message_id, ordering_key, subject, payload::text AS payload, headers FROM outbox WHERE message_id = ANY ($1::uuid[]) ORDER BY tx_id, id',
    [ids],
  );
  return rows.map(storedMessage);
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
 * What a requeue turn did: how many messages JetStream stored, and whether
 * another instance took the turn over meanwhile. What it left waiting is the
 * run's to ask once its drains are done too (anyRequeuedWaiting).
 */
export interface RequeueTurnReport {
  sent: number;
  leaseLost: boolean;
}

const NO_TURN: RequeueTurnReport = { sent: 0, leaseLost: false };

/**
 * Sends again the parked messages a person requeued: stored ones leave the
 * parked list, refused ones are parked again with the new error, and those
 * NATS did not answer (or not sent before the deadline) stay requeued for the
 * next run. Requeued messages have no checkpoint: each stored one leaves the
 * list, also behind one still waiting. Another instance sending them now has
 * the turn, and this run leaves them to it.
 */
export async function publishRequeued(session: PublishingSession, turn: RequeueTurn): Promise<RequeueTurnReport> {
  if ((await requeuedMessages(session.db, 1, PUBLISHERS)).messages.length === 0) return NO_TURN;
  const lease = await acquirePartitionLease(session.db, { ...REQUEUE_LEASE, holder: turn.holder, ttlMs: turn.leaseTtlMs });
  if (!lease) return NO_TURN;
  let done: RequeueTurnReport;
  let released: LeaseRelease;
  try {
    // Not renewed: no round starts once half of it is gone, so its turn never outlives it.
    done = await sendRequeued(session, fencedWrites(session.db, lease, turn.leaseTtlMs), Math.min(turn.deadline, Date.now() + turn.leaseTtlMs / 2));
  } finally {
    // Given back as soon as the turn ends, also a failed one: left to run out, it would hold
    // the next run's turn for a lease's time. giveLeaseBack never throws.
    released = await giveLeaseBack(session.db, lease);
  }
  // Taken over: another instance's turn took it (this one stalled past it).
  return { sent: done.sent, leaseLost: done.leaseLost || released === 'taken_over' };
}

/**
 * Whether a requeued message its partition's checkpoint has passed waits for a
 * requeue turn: one NATS did not take, one past the turn's pages or time, or one
 * a drain passed after the turn. Behind the checkpoints, no backlog counts it:
 * the run's report must. Asked quietly, a failed look counting as waiting: a run
 * that did its work is not failed by a look at what remains.
 */
export async function anyRequeuedWaiting(db: Queryable): Promise<boolean> {
  return (await requeuedMessages(db, 1, PUBLISHERS).catch(() => null))?.messages.length !== 0;
}

async function sendRequeued(session: PublishingSession, fenced: FencedWrites, deadline: number): Promise<RequeueTurnReport> {
  let sent = 0;
  const read = new Set<string>();
  // Page after page: the keys a page read go behind the others, so the next page holds
  // keys this turn has not read, until none is left (or only one requeued since).
  for (let page = 0; page < REQUEUED_PAGES_PER_RUN && Date.now() < deadline; page++) {
    // Read again under the lease: another instance may have sent them since.
    const { messages, seenIn } = await requeuedMessages(session.db, REQUEUED_PER_PAGE, PUBLISHERS);
    const unread = messages.filter((message) => !read.has(keyOf(message)));
    if (unread.length === 0) break;
    const pageSent = await sendPage(session, fenced, deadline, unread, seenIn);
    sent += pageSent.sent;
    if (pageSent.leaseLost) return { sent, leaseLost: true };
    for (const message of unread) read.add(keyOf(message));
  }
  return { sent, leaseLost: false };
}

const keyOf = (message: ParkedMessage) => `${message.source}:${message.orderingKey}`;

/**
 * A requeued event goes out on the subject routing gave when it was parked, unless
 * that subject was one NATS cannot carry: then it is parked again, unsent. Its stored
 * subject is not asked again, as what made it unusable may be gone from it (a NUL or a
 * lone surrogate is stored as U+FFFD, which NATS would carry).
 */
function requeuedEventEntry(message: StoredMessage, parkedError: string | undefined): BatchEntry {
  if (parkedError?.startsWith(`${ROUTING_GAVE_UNUSABLE_SUBJECT}: `)) return { kind: 'park', message, problem: parkedError };
  return sendOrPark(message, 'unusable subject');
}

async function sendPage(session: PublishingSession, fenced: FencedWrites, deadline: number, parked: readonly ParkedMessage[], seenIn: string | null): Promise<RequeueTurnReport> {
  let sent = 0;
  // The source of the message requeued first goes first: the other waits for it, and a turn that ends early leaves it the rest.
  for (const source of new Set(parked.map((message) => message.source))) {
    // A batch's first round always starts: none starts once the turn is over.
    if (Date.now() >= deadline) break;
    const ofSource = parked.filter((message) => message.source === source);
    const batch = await messagesOf(session, source, ofSource);
    // Asked again after the read: a process frozen in it past the turn's time (its lease
    // taken since, the messages sent and unparked by another instance) sends nothing.
    if (Date.now() >= deadline) break;
    const before = session.tally.report.published;
    // An event and an integration message may be parked under one id: each its own error.
    const parkedErrors = new Map(ofSource.map((message) => [message.messageId, message.error]));
    let outcome: PublishedBatch;
    try {
      const entries = batch.map((message) => (source === 'outbox' ? sendOrParkStoredMessage(message) : requeuedEventEntry(message, parkedErrors.get(message.messageId))));
      outcome = await publishBatch(session, source, entries, { deadline, requeuesSeenIn: seenIn, fenced });
    } catch (error) {
      // The turn outlived its lease and another instance took it: what is left is that one's.
      if (error instanceof PartitionLeaseLostError) return { sent: sent + session.tally.report.published - before, leaseLost: true };
      throw error;
    }
    sent += session.tally.report.published - before;
    await unparkMessages(session.db, source, [...outcome.published]);
  }
  await moveKeysBehind(session.db, parked);
  return { sent, leaseLost: false };
}
