import { storyIndexer } from '../browser';
import { NO_UPCASTING } from '../eventstore';
import { eventFeedSource, getProcessorLag } from '../processing';
import { metrics } from '../observability';
import { getProjectionStatus, processorNameOf } from '../projections';
import { readPublishingStatus, type PublishingStatus } from '../publishing';
import { sagaCounts } from '../sagas';
import type { ServiceRuntime } from './serviceRuntime';

/** A timeout due longer ago than this counts as overdue: the sweeper is behind or not running. */
export const OVERDUE_GRACE_MS = 5_000;

// As the projections' status counts it: every event past a checkpoint, whatever its type.
const everyEvent = eventFeedSource({ upcaster: NO_UPCASTING });

/**
 * The service's current figures, read from the database and set as gauges
 * through core's metrics port: each projection's lag (in events and seconds,
 * per partition of the serving generation) and failed partitions; each saga's
 * lag (its most lagging partition), instances by phase, stuck instances,
 * overdue timeouts and unmatched inputs; the event browser's story index's lag;
 * the publishing backlog, the age of its
 * oldest message and the parked messages. Functions report them after each
 * run; the dev server when scraped. A projection or saga whose processor never
 * ran lags by what waits past where it will start, not by nothing.
 * Returns the publishing status it read, for a caller that acts on it too.
 */
export async function reportServiceGauges(runtime: Pick<ServiceRuntime, 'db' | 'sagas' | 'service'>, now: Date = new Date()): Promise<PublishingStatus> {
  const { db } = runtime;
  const statuses = await getProjectionStatus(db);
  for (const status of statuses) {
    const active = status.generations.find((generation) => generation.generation === status.activeGeneration);
    for (const partition of active?.partitions ?? []) {
      const labels = { projection: status.name, partition: String(partition.partition) };
      metrics.gauge('ProjectionLagEvents', partition.lagEvents, 'count', labels);
      metrics.gauge('ProjectionLagSeconds', partition.lagSeconds, 'seconds', labels);
    }
    const failed = status.generations.flatMap((generation) => generation.partitions).filter((partition) => partition.state === 'failed');
    metrics.gauge('ProjectionPartitionsFailed', failed.length, 'count', { projection: status.name });
  }
  // Not registered yet (no projector ran since it was added): its first generation
  // will serve, built from the start of the feed.
  for (const projection of runtime.service.projections ?? []) {
    if (statuses.some((status) => status.name === projection.name)) continue;
    const firstGeneration = { name: processorNameOf(projection.name, 1), source: everyEvent, partitions: projection.partitions };
    for (const partition of (await getProcessorLag(db, firstGeneration)).waiting) {
      const labels = { projection: projection.name, partition: String(partition.partition) };
      metrics.gauge('ProjectionLagEvents', partition.items, 'count', labels);
      metrics.gauge('ProjectionLagSeconds', partition.oldestAgeSeconds, 'seconds', labels);
    }
  }
  for (const processor of runtime.sagas.processors) {
    const { waiting } = await getProcessorLag(db, processor);
    const saga = processor.name.replace(/^saga:/, '');
    metrics.gauge('SagaLagEvents', Math.max(0, ...waiting.map((partition) => partition.items)), 'count', { saga });
    metrics.gauge('SagaLagSeconds', Math.max(0, ...waiting.map((partition) => partition.oldestAgeSeconds)), 'seconds', { saga });
  }
  const counts = await sagaCounts(db, runtime.sagas.sagas.map((saga) => saga.name), { now, overdueGraceMs: OVERDUE_GRACE_MS });
  for (const count of counts) {
    const labels = { saga: count.saga };
    for (const phase of ['running', 'compensating', 'completed', 'stuck'] as const) metrics.gauge('SagaInstances', count[phase], 'count', { ...labels, phase });
    metrics.gauge('SagasStuck', count.stuck, 'count', labels);
    metrics.gauge('SagaTimeoutsOverdue', count.overdueTimeouts, 'count', labels);
    metrics.gauge('SagaInputsUnmatched', count.unmatched, 'count', labels);
  }
  // The event browser's story index: what it has not reached, every story walks.
  const [story] = (await getProcessorLag(db, storyIndexer)).waiting;
  metrics.gauge('StoryIndexLagEvents', story?.items ?? 0, 'count');
  metrics.gauge('StoryIndexLagSeconds', story?.oldestAgeSeconds ?? 0, 'seconds');
  const publishing = await readPublishingStatus(db);
  metrics.gauge('PublishBacklog', publishing.events.backlog + publishing.outbox.backlog, 'count');
  metrics.gauge('PublishOldestWaitingAge', Math.max(publishing.events.oldestAgeSeconds, publishing.outbox.oldestAgeSeconds), 'seconds');
  metrics.gauge('ParkedMessages', publishing.parked, 'count');
  metrics.gauge('RequeuedMessages', publishing.requeued, 'count');
  return publishing;
}
