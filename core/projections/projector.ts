import {
  batchIdleTimeoutMs,
  checkDeadline,
  HandlerWentOnPastFailureError,
  namedFailures,
  partitionsCaughtUpOnce,
  ProcessorDefinitionError,
  runFeedProcessor,
  type HandlerFailure,
} from '../processing';
import { activateIfCaughtUp } from './activateGeneration';
import { ProjectionHandlerError, ProjectorRunError } from './errors';
import type { Projection } from './defineProjection';
import { generationProcessor } from './generationProcessor';
import { liveGenerations, type Generation } from './generationRecords';
import { isSuperseded, supersededError } from './supersededCode';
import { projectorSettings, type ProjectorOptions } from './projectorOptions';
import { buildsOf, registerProjection } from './registerProjection';

/**
 * A handler that went on past a failed statement is found out by the engine,
 * which knows no projection (the checkpoint's statement is refused, or a
 * wrapper's cause is): told as the projection's own handler errors are.
 */
function asHandlerError(projection: string, failure: HandlerFailure): HandlerFailure {
  const { error } = failure;
  if (error instanceof ProjectionHandlerError || !(error.cause instanceof HandlerWentOnPastFailureError)) return failure;
  return { ...failure, error: new ProjectionHandlerError(projection, null, null, error.cause) };
}

export interface ProjectorRun {
  /** Events applied in this run, across projections and partitions. */
  eventsApplied: number;
  batches: number;
  /** Generations whose build caught up and now serve reads. */
  activated: { name: string; generation: number }[];
  /** True when the deadline stopped the run before every leased partition was caught up, or before a caught-up build's switch. */
  stoppedByDeadline: boolean;
  /**
   * Partitions whose lease this run lost: it stalled past the lease and another
   * instance took the partition over (its batches committed only under the
   * lease, so nothing was applied twice). Not a generation's partitions fenced
   * by a switch that retired it while this run was at work on them.
   */
  leaseLost: { name: string; generation: number; partition: number }[];
}

export interface Projector {
  readonly holder: string;
  /**
   * Leases every partition it can of every generation it builds, and runs
   * batches on each until it is caught up (or waiting after a failure), or
   * until `deadline` (epoch ms). Partitions leased by other instances are theirs.
   * Each projection registers and runs on its own: one that fails (refused for
   * its partition count) leaves the others running; the run then throws a
   * ProjectorRunError (an AggregateError) naming each that failed, with the run.
   * Every serving generation runs first; builds then run `buildTurnMs` at a
   * time, one turn each in a round, and the serving generations run again
   * after each round, so a long build holds back no projection's reads, its
   * own included.
   */
  runUntilCaughtUp(options?: { deadline?: number }): Promise<ProjectorRun>;
}

const SWITCH_AFTER_CUT_TURN_MS = 1_000;

/** Keeps projections up to date: each generation being built or served is a feed processor of its own. */
export function createProjector(options: ProjectorOptions): Projector {
  const { db, projections, upcaster, holder, leaseTtlMs, failurePolicy, onHandlerError, buildTurnMs } = projectorSettings(options);
  // Once per projector; a registration that failed is tried again next run. Each says what
  // this code builds as it registered.
  const registrations = new Map<Projection, Promise<Generation[]>>();

  const register = (projection: Projection) => {
    let registration = registrations.get(projection);
    if (!registration) {
      registration = registerProjection(db, projection, { idleTimeoutMs: batchIdleTimeoutMs(leaseTtlMs) }).catch((error: unknown) => {
        registrations.delete(projection);
        throw error;
      });
      registrations.set(projection, registration);
    }
    return registration;
  };

  // A switch that retired the generation fenced its leases: no other instance stalled this one out.
  // Asked only to word the report: a read that fails (the database that stalled the run still
  // slow) lists the loss rather than fail a run whose batches stand.
  const isLive = (projection: Projection, generation: Generation) =>
    liveGenerations(db, projection.name).then(
      (live) => live.some((candidate) => candidate.generation === generation.generation),
      () => true,
    );

  // A generation's turn: to the run's deadline for a serving one, to the turn's end for a build.
  // What it answers: whether the turn's end, not the run's deadline, left the build more to do
  // ('cut'), and whether that turn handled no item at all ('cut_idle': the run's set-up may have
  // taken the whole turn, before a lease or a first batch).
  async function runGeneration(projection: Projection, generation: Generation, turn: { deadline: number; endsAt: number }, run: ProjectorRun): Promise<'done' | 'cut' | 'cut_idle'> {
    const { deadline } = turn;
    const turnStart = Date.now();
    const processor = generationProcessor(projection, generation, upcaster, failurePolicy);
    const onFailure = (failure: HandlerFailure) => onHandlerError?.(asHandlerError(projection.name, failure));
    const result = await runFeedProcessor(processor, { db, holder, leaseTtlMs, deadline: turn.endsAt, concurrency: 1, onFailure });
    run.eventsApplied += result.items;
    run.batches += result.batches;
    const cut = result.stoppedByDeadline && Date.now() < deadline;
    if (!cut) run.stoppedByDeadline ||= result.stoppedByDeadline;
    if (result.leaseLost.length > 0 && (await isLive(projection, generation))) {
      run.leaseLost.push(...result.leaseLost.map((partition) => ({ name: projection.name, generation: generation.generation, partition })));
    }
    if (generation.status !== 'building') return 'done';
    const unfinished = !cut ? 'done' : result.items === 0 && result.batches === 0 ? 'cut_idle' : 'cut';
    // A build partition that failed or waits out a backoff would have the switch give up.
    if (result.heldBack.length > 0) return unfinished;
    // Cut by its turn's end, a build may still be caught up: its turns together saw every
    // partition reach the head, though none saw them all (more partitions than a turn visits,
    // on a feed busy enough that the last one visited never looks caught up at the turn's end).
    // Caught up, the run speaks only for the partitions it drained: those other instances are
    // draining may be far behind, and a switch tried then holds the serving generation's leases
    // and the build's checkpoints while it catches up what it can, to give up. One partition
    // failed or waiting since (by this run or another) means no switch yet; its other partitions
    // go on in the next turn while turns get work done, and it is retried there once its backoff
    // has passed. A cut turn that did nothing ends the build's run: with a partition failed for
    // good, turns cut before visiting every caught-up partition would go on to the deadline.
    const seen = cut || result.caughtUp ? await partitionsCaughtUpOnce(db, processor) : 'not_yet';
    if (seen === 'held') return unfinished === 'cut_idle' ? 'done' : unfinished;
    if (seen === 'not_yet') return unfinished;
    // Tried after a cut turn, a switch that gives up (a partition more behind than its catch-up
    // takes on) costs the serving generations about another turn, and a second at least.
    const switchDeadline = cut ? Math.min(deadline, Date.now() + Math.max(turn.endsAt - turnStart, SWITCH_AFTER_CUT_TURN_MS)) : deadline;
    const switched = await activateIfCaughtUp(db, projection, generation, upcaster, failurePolicy, switchDeadline);
    if (switched.switched) {
      run.activated.push({ name: projection.name, generation: generation.generation });
      // What arrived since the build's last batch, applied by the switch itself.
      run.eventsApplied += switched.eventsApplied;
      run.batches += switched.batches;
      return 'done';
    }
    if (Date.now() >= deadline) {
      // The switch gave up at the deadline: the build waits for the next run to serve.
      run.stoppedByDeadline = true;
      return 'done';
    }
    // Given up with time left (a partition more than its catch-up takes on): the next turn goes on.
    return unfinished;
  }

  return {
    holder,
    async runUntilCaughtUp(runOptions = {}) {
      if (typeof runOptions !== 'object' || (runOptions as unknown) === null) throw new ProcessorDefinitionError('the projector: run options must be an object: { deadline }');
      const { deadline = Number.POSITIVE_INFINITY } = runOptions;
      checkDeadline(deadline, 'the projector');
      const run: ProjectorRun = { eventsApplied: 0, batches: 0, activated: [], stoppedByDeadline: false, leaseLost: [] };
      // Each projection on its own, as ever: the first error of each is the run's to throw at its end.
      // One whose serving turn failed sits out the rest of the run; one whose build failed, its builds only.
      const failures = new Map<Projection, unknown>();
      const satOut = new Set<Projection>();
      const buildsStopped = new Set<Projection>();
      const attempt = (projection: Projection, stops: Set<Projection>, work: () => Promise<void>) =>
        work().catch((error: unknown) => {
          stops.add(projection);
          if (!failures.has(projection)) failures.set(projection, error);
        });
      const builds = new Map<Projection, Generation[]>();
      const servingTurn = async (projection: Projection) => {
        const registered = await register(projection);
        // Read each turn: a rebuild requested elsewhere adds a generation to build.
        const live = await liveGenerations(db, projection.name);
        const generations = buildsOf(live, projection);
        if (isSuperseded(projection, registered, live)) throw await supersededError(db, projection, live);
        for (const generation of generations) {
          if (generation.status !== 'building') await runGeneration(projection, generation, { deadline, endsAt: deadline }, run);
        }
        builds.set(projection, generations.filter((generation) => generation.status === 'building'));
      };
      // How long each build's turns last: doubled after one that handled nothing, as a turn shorter
      // than a run's set-up would never begin a batch; to a second at most (or buildTurnMs, if
      // longer), as batches that handle nothing (a filter that matches few events) are progress too.
      const turnLengths = new Map<string, number>();
      const longestTurnMs = Math.max(buildTurnMs, SWITCH_AFTER_CUT_TURN_MS);
      let moreToBuild = true;
      while (moreToBuild) {
        moreToBuild = false;
        for (const projection of projections) {
          if (!satOut.has(projection)) await attempt(projection, satOut, () => servingTurn(projection));
        }
        for (const [projection, generations] of builds) {
          if (satOut.has(projection) || buildsStopped.has(projection)) continue;
          await attempt(projection, buildsStopped, async () => {
            for (const generation of generations) {
              const key = `${projection.name}:${generation.generation}`;
              const lasts = turnLengths.get(key) ?? buildTurnMs;
              // Each build a turn of its own: one begun at another's end would find its turn over.
              const turn = await runGeneration(projection, generation, { deadline, endsAt: Math.min(deadline, Date.now() + lasts) }, run);
              if (turn === 'cut_idle') turnLengths.set(key, Math.min(longestTurnMs, 2 * lasts));
              if (turn !== 'done') moreToBuild = true;
            }
          });
        }
      }
      if (failures.size > 0) {
        const failed = [...failures].map(([projection, error]) => ({ name: projection.name, error }));
        throw new ProjectorRunError([...failures.values()], namedFailures(failed, projections.length), run);
      }
      return run;
    },
  };
}
