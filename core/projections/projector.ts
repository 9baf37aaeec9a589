import { randomUUID } from 'node:crypto';
import type { Db } from '../db';
import { NO_UPCASTING, type EventUpcaster } from '../eventstore';
import { holdingLeases } from '../leases';
import { activateIfCaughtUp } from './activateGeneration';
import type { Projection } from './defineProjection';
import { DEFAULT_FAILURE_POLICY, type FailurePolicy } from './failurePolicy';
import { liveGenerations, type Generation } from './generationRecords';
import { leaseGroupOf } from './projectionNames';
import { buildsOf, registerProjection } from './registerProjection';
import { drainPartition, type DrainReport } from './drainPartition';

export interface ProjectorOptions {
  db: Db;
  projections: readonly Projection[];
  /** The event store's upcaster, so handlers see current event shapes. */
  upcaster?: EventUpcaster;
  /** Names this instance in the leases; default a random id. */
  holder?: string;
  /** A partition's lease lasts this long unless renewed; a dead holder's partitions are taken over after it. Default 30 s. */
  leaseTtlMs?: number;
  failurePolicy?: FailurePolicy;
  /** Told about each handler failure (log it); the failure is also recorded on the partition. */
  onHandlerError?: (report: DrainReport['failures'][number]) => void;
}

export interface ProjectorRun {
  /** Events applied in this run, across projections and partitions. */
  eventsApplied: number;
  batches: number;
  /** Generations whose build caught up and now serve reads. */
  activated: { name: string; generation: number }[];
  /** True when the deadline stopped the run before every leased partition was caught up. */
  stoppedByDeadline: boolean;
}

export interface Projector {
  readonly holder: string;
  /**
   * Leases every partition it can of every generation it builds, and runs
   * batches on each until it is caught up (or waiting after a failure), or
   * until `deadline` (epoch ms). Partitions leased by other instances are theirs.
   */
  runUntilCaughtUp(options?: { deadline?: number }): Promise<ProjectorRun>;
}

export const DEFAULT_LEASE_TTL_MS = 30_000;

export function createProjector(options: ProjectorOptions): Projector {
  const { db } = options;
  const holder = options.holder ?? `projector-${randomUUID()}`;
  const leaseTtlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const failurePolicy = options.failurePolicy ?? DEFAULT_FAILURE_POLICY;
  const upcaster = options.upcaster ?? NO_UPCASTING;
  let registered: Promise<void> | undefined;

  const register = () => {
    registered ??= Promise.all(options.projections.map((projection) => registerProjection(db, projection))).then(
      () => undefined,
      (error: unknown) => {
        registered = undefined;
        throw error;
      },
    );
    return registered;
  };

  async function runGeneration(projection: Projection, generation: Generation, deadline: number, run: ProjectorRun): Promise<void> {
    const lease = { group: leaseGroupOf(projection.name, generation.generation), partitions: generation.partitions, holder, ttlMs: leaseTtlMs };
    const anyCaughtUp = await holdingLeases(db, lease, async (acquire) => {
      let caughtUp = false;
      while (Date.now() < deadline) {
        const acquired = await acquire();
        if (!acquired) break;
        const report = await drainPartition({ db, projection, generation, lease: acquired, upcaster, failurePolicy, leaseTtlMs, deadline });
        run.eventsApplied += report.eventsApplied;
        run.batches += report.batches;
        caughtUp ||= report.caughtUp;
        if (!report.caughtUp && Date.now() >= deadline) run.stoppedByDeadline = true;
        for (const failure of report.failures) options.onHandlerError?.(failure);
      }
      if (Date.now() >= deadline) run.stoppedByDeadline = true;
      return caughtUp;
    });
    if (generation.status === 'building' && anyCaughtUp && (await activateIfCaughtUp(db, projection.name, generation.generation))) {
      run.activated.push({ name: projection.name, generation: generation.generation });
    }
  }

  return {
    holder,
    async runUntilCaughtUp({ deadline = Number.POSITIVE_INFINITY } = {}) {
      await register();
      const run: ProjectorRun = { eventsApplied: 0, batches: 0, activated: [], stoppedByDeadline: false };
      for (const projection of options.projections) {
        // Read each run: a rebuild requested elsewhere adds a generation to build.
        for (const generation of buildsOf(await liveGenerations(db, projection.name), projection)) {
          await runGeneration(projection, generation, deadline, run);
        }
      }
      return run;
    },
  };
}
