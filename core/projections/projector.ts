import { randomUUID } from 'node:crypto';
import type { Db } from '../db';
import { isEventUpcaster, NO_UPCASTING, type EventUpcaster } from '../eventstore';
import {
  batchIdleTimeoutMs,
  checkDeadline,
  checkFailurePolicy,
  checkHolder,
  checkLeaseTtl,
  DEFAULT_FAILURE_POLICY,
  HandlerWentOnPastFailureError,
  namedFailures,
  partitionsCaughtUpOnce,
  ProcessorDefinitionError,
  runFeedProcessor,
  whyHandledTypeRenamed,
  type FailurePolicy,
  type HandlerFailure,
} from '../processing';
import { activateIfCaughtUp } from './activateGeneration';
import { ProjectionDefinitionError, ProjectionHandlerError, ProjectorRunError } from './errors';
import { isProjection, type Projection } from './defineProjection';
import { generationProcessor } from './generationProcessor';
import { liveGenerations, type Generation } from './generationRecords';
import { isSuperseded, supersededError } from './supersededCode';
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
  onHandlerError?: (failure: HandlerFailure) => void;
  /** How long a build (a rebuild, a new version) runs at a time, before the other builds' turns and then the serving generations'. Default 5 s. */
  buildTurnMs?: number;
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

export const DEFAULT_LEASE_TTL_MS = 30_000;
export const DEFAULT_BUILD_TURN_MS = 5_000;
const SWITCH_AFTER_CUT_TURN_MS = 1_000;

/** What a plain-JavaScript caller may leave out or give as something else: each failed every run, or the construction untyped. */
function checkProjectorParts(options: ProjectorOptions): void {
  const refuse = (problem: string): never => {
    throw new ProjectionDefinitionError(`the projector: ${problem}`);
  };
  if (typeof options !== 'object' || (options as unknown) === null) refuse('options must be an object: { db, projections }');
  if (typeof (options.db as Partial<Db> | undefined)?.transaction !== 'function') refuse('db must be a database (createPgDb, say)');
  if (!Array.isArray(options.projections) || !options.projections.every(isProjection)) refuse('projections must be a list of projections (defineProjection)');
  if (options.upcaster !== undefined && !isEventUpcaster(options.upcaster)) refuse('upcaster must be an event upcaster (defineUpcasters, say)');
  if (options.onHandlerError !== undefined && typeof options.onHandlerError !== 'function') refuse('onHandlerError must be a function');
  const { buildTurnMs } = options;
  if (buildTurnMs !== undefined && !(Number.isSafeInteger(buildTurnMs) && buildTurnMs >= 1)) refuse(`buildTurnMs must be a whole number of milliseconds from 1, not ${String(buildTurnMs)}`);
}

/** Keeps projections up to date: each generation being built or served is a feed processor of its own. */
export function createProjector(options: ProjectorOptions): Projector {
  checkProjectorParts(options);
  const { db } = options;
  // Two definitions of one name would share its generations' checkpoints and leases.
  const names = options.projections.map((projection) => projection.name);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) throw new ProjectionDefinitionError(`projection ${twice} is given to the projector twice`);
  const holder = options.holder ?? `projector-${randomUUID()}`;
  // Checked here, as the run would, but before a projection is registered (its setup run, its generation made).
  checkHolder(holder, 'the projector');
  const leaseTtlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const buildTurnMs = options.buildTurnMs ?? DEFAULT_BUILD_TURN_MS;
  const failurePolicy = options.failurePolicy ?? DEFAULT_FAILURE_POLICY;
  checkFailurePolicy(failurePolicy, 'the projector');
  checkLeaseTtl(leaseTtlMs, 'the projector');
  const upcaster = options.upcaster ?? NO_UPCASTING;
  for (const projection of options.projections) {
    const renamed = whyHandledTypeRenamed(upcaster, `projection ${projection.name}`, projection.eventTypes);
    if (renamed) throw new ProjectionDefinitionError(renamed);
  }
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
    const onFailure = (failure: HandlerFailure) => options.onHandlerError?.(asHandlerError(projection.name, failure));
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
    // One the turn did not visit may have failed since: the build cannot switch in this run.
    const seen = cut ? await partitionsCaughtUpOnce(db, processor) : result.caughtUp ? 'caught_up_once' : 'not_yet';
    if (seen === 'held') return 'done';
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
        for (const projection of options.projections) {
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
        throw new ProjectorRunError([...failures.values()], namedFailures(failed, options.projections.length), run);
      }
      return run;
    },
  };
}
