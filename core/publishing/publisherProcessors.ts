import type { FeedProcessor } from '../processing';
import { eventMessages, type EventMessage } from './eventMessages';
import type { EventRouting } from './eventRouting';
import { outboxMessages, type OutboxMessage } from './outboxMessages';
import { publishBatch, sendOrPark, type BatchEntry, type PublishingSession } from './publishBatch';

export const EVENTS_PUBLISHER = 'publisher:events';
export const OUTBOX_PUBLISHER = 'publisher:outbox';

/** Publishing never gives up on a batch: NATS's passing failures are retried after a backoff. */
const NEVER_FAILS = { maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 1_000, maxDelayMs: 60_000 };

function eventEntry(event: EventMessage, routing: EventRouting): BatchEntry {
  if (event.settledBefore) return { kind: 'skip' };
  const subject = routing.subjectFor({ type: event.type, streamType: event.streamType, streamId: event.streamId });
  if (subject === null) return { kind: 'skip' };
  return sendOrPark({ messageId: event.eventId, orderingKey: event.streamId, subject, payload: event.payload, headers: event.headers }, 'routing gave an unusable subject');
}

// Appends refuse a subject NATS cannot carry or keeps for itself; a row written before
// a rule was added is parked rather than sent.
const outboxEntry = (message: OutboxMessage): BatchEntry => (message.parked ? { kind: 'skip' } : sendOrPark(message, 'unusable subject'));

/** Stored events, from the feed, each on its routed subject with its event id as message id. */
export function eventsPublisher(
  session: PublishingSession,
  settings: { partitions: number; batchSize: number; routing: EventRouting },
): FeedProcessor<EventMessage> {
  return {
    name: EVENTS_PUBLISHER,
    partitions: settings.partitions,
    batchSize: settings.batchSize,
    source: eventMessages(),
    failurePolicy: NEVER_FAILS,
    handler: {
      mode: 'external',
      handle: (events, { partition, deadline }) =>
        publishBatch(session, 'events', events.map((event) => eventEntry(event, settings.routing)), { partition: `${EVENTS_PUBLISHER}:${partition}`, deadline }),
    },
  };
}

/** Integration messages, from the outbox, in order per key. */
export function outboxPublisher(
  session: PublishingSession,
  settings: { partitions: number; batchSize: number },
): FeedProcessor<OutboxMessage> {
  return {
    name: OUTBOX_PUBLISHER,
    partitions: settings.partitions,
    batchSize: settings.batchSize,
    source: outboxMessages(),
    failurePolicy: NEVER_FAILS,
    handler: {
      mode: 'external',
      handle: (messages, { partition, deadline }) =>
        publishBatch(session, 'outbox', messages.map(outboxEntry), { partition: `${OUTBOX_PUBLISHER}:${partition}`, deadline }),
    },
  };
}
