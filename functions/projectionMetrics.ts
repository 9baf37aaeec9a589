import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ProjectionStatus } from '../core/projections';
import { metrics } from './observability';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

function partitionMetric(dimensions: Record<string, string>, name: string, unit: Unit, value: number): void {
  const single = metrics.singleMetric();
  single.addDimensions(dimensions);
  single.addMetric(name, unit, value);
}

/**
 * Lag of every partition of each projection's serving generation, in events and
 * in seconds, and how many partitions of any live generation have failed, as
 * EMF metrics by projection (and partition).
 */
export function reportProjectionStatus(statuses: readonly ProjectionStatus[]): void {
  for (const status of statuses) {
    const active = status.generations.find((generation) => generation.generation === status.activeGeneration);
    for (const partition of active?.partitions ?? []) {
      const dimensions = { projection: status.name, partition: String(partition.partition) };
      partitionMetric(dimensions, 'ProjectionLagEvents', MetricUnit.Count, partition.lagEvents);
      partitionMetric(dimensions, 'ProjectionLagSeconds', MetricUnit.Seconds, partition.lagSeconds);
    }
    const failed = status.generations.flatMap((generation) => generation.partitions).filter((partition) => partition.state === 'failed');
    partitionMetric({ projection: status.name }, 'ProjectionPartitionsFailed', MetricUnit.Count, failed.length);
  }
}
