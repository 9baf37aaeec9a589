import type { ExternalOutcome, FeedProcessor } from '../processing';
import { eventMessages, type EventMessage } from './eventMessages';
import type { EventRouting } from './eventRouting';
import { outboxMessages, type OutboxMessage } from './outboxMessages';
import { publishBatch, sendOrPark, sendOrParkStoredMessage, type BatchEntry, type BatchLimits, type PublishedBatch, type PublishingSession } from './publishBatch';
import { recordPublishedAhead, type PublishedAheadMessage } from './publishedAhead';
import { describeError, thrownMessage } from '../errors';

export const EVENTS_PUBLISHER = 'publisher:events';
export const OUTBOX_PUBLISHER = 'publisher:outbox';
/** How a parked event's error starts when routing gave a subject NATS cannot carry: a requeue parks it again unsent. */
export const ROUTING_GAVE_UNUSABLE_SUBJECT = 'routing gave an unusable subject';

/** Publishing never gives up on a batch: NATS's passing failures are retried after a backoff. */
const NEVER_FAILS = { maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 1_000, maxDelayMs: 60_000 };

function eventEntry(event: EventMessage, routing: EventRouting): BatchEntry {
  if (event.settledBefore) return { kind: 'skip' };
  const subject = routing.subjectFor({ type: event.type, streamType: event.streamType, streamId: event.streamId });
  if (subject === null) return { kind: 'skip' };
  return sendOrPark({ messageId: event.eventId, orderingKey: event.streamId, subject, payload: event.payload, headers: event.headers }, ROUTING_GAVE_UNUSABLE_SUBJECT);
}

/**
 * The batch's entries up to the first event the routing code throws on, and
 * that error. Such an event is not parked: the code is what is wrong, and once
 * a fixed deploy runs, the event goes out in its place. Until then its
 * partition waits on it as on a NATS outage, retried after a backoff.
 */
function routedEntries(events: readonly EventMessage[], routing: EventRouting): { entries: BatchEntry[]; routingError?: Error } {
  const entries: BatchEntry[] = [];
  for (const event of events) {
    try {
      entries.push(eventEntry(event, routing));
    } catch (error) {
      // Its own words, not the cause's alone: the status and the run report name the event.
      return { entries, routingError: new Error(`routing threw on event ${event.eventId}: ${thrownMessage(error)}`) };
    }
  }
  return { entries };
}

/** Where a partition's batch runs: its processor and partition, its lease's fence, and the run's deadline. */
interface PartitionBatch extends BatchLimits {
  processor: string;
  partition: number;
}

/**
 * Publishes a partition's batch, then records what it settled behind its first
 * waiting message: stored by JetStream, parked, or private. The checkpoint stops
 * before them, and no later read hands them out again (see recordPublishedAhead);
 * each page steps over as many as are recorded, so the partition's other keys go
 * on behind a held one.
 */
async function publishPartitionBatch<Item extends { settledBefore: boolean; recordedAhead: boolean }>(
  session: PublishingSession,
  source: 'events' | 'outbox',
  items: readonly Item[],
  entries: readonly BatchEntry[],
  placeOf: (item: Item) => PublishedAheadMessage,
  within: PartitionBatch,
): Promise<PublishedBatch> {
  const outcome = await publishBatch(session, source, entries, within);
  const settledNow = (item: Item, index: number) => {
    const entry = entries[index];
    if (entry === undefined) return false;
    // Settled by an earlier batch that died before recording it (parked, say): recorded now.
    if (item.settledBefore) return !item.recordedAhead;
    return entry.kind === 'skip' || outcome.published.has(entry.message.messageId) || outcome.parked.has(entry.message.messageId);
  };
  const ahead = items.flatMap((item, index) => (index > outcome.done && settledNow(item, index) ? [placeOf(item)] : []));
  await recordPublishedAhead(within.fenced, { processor: within.processor, index: within.partition }, ahead);
  return outcome;
}

const eventPlace = (event: EventMessage): PublishedAheadMessage => ({ messageId: event.eventId, at: { txId: event.txId, position: event.position } });
const outboxPlace = (message: OutboxMessage): PublishedAheadMessage => ({ messageId: message.messageId, at: { txId: message.txId, position: message.id } });

async function publishEvents(session: PublishingSession, events: readonly EventMessage[], routing: EventRouting, within: PartitionBatch): Promise<ExternalOutcome> {
  const { entries, routingError } = routedEntries(events, routing);
  const outcome = await publishPartitionBatch(session, 'events', events, entries, eventPlace, within);
  // Stopped short by the deadline before the event: the next batch meets it.
  if (routingError === undefined || (outcome.done < entries.length && outcome.error === undefined)) return outcome;
  session.tally.countRetry(routingError);
  if (outcome.done === entries.length) return { done: outcome.done, error: routingError };
  // Held behind a message NATS refuses for a while too: both are said, so that the routing
  // code's fault is not shown only once the other clears.
  const both = `${describeError(outcome.error)}; and ${routingError.message}`;
  return { done: outcome.done, error: new AggregateError([outcome.error, routingError], both) };
}

// Appends refuse a subject NATS cannot carry or keeps for itself, and headers JetStream
// would act on; a row written before a rule was added is parked rather than sent.
const outboxEntry = (message: OutboxMessage): BatchEntry => (message.settledBefore ? { kind: 'skip' } : sendOrParkStoredMessage(message));

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
      handle: (events, { partition, deadline, fenced }) => publishEvents(session, events, settings.routing, { processor: EVENTS_PUBLISHER, partition, deadline, fenced }),
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
      handle: (messages, { partition, deadline, fenced }) =>
        publishPartitionBatch(session, 'outbox', messages, messages.map(outboxEntry), outboxPlace, { processor: OUTBOX_PUBLISHER, partition, deadline, fenced }),
    },
  };
}
