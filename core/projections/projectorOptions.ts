import { randomUUID } from 'node:crypto';
import type { Db } from '../db';
import { isEventUpcaster, NO_UPCASTING, type EventUpcaster } from '../eventstore';
import { checkFailurePolicy, checkHolder, checkLeaseTtl, DEFAULT_FAILURE_POLICY, DEFAULT_LEASE_TTL_MS, whyHandledTypeRenamed, type FailurePolicy, type HandlerFailure } from '../processing';
import { isProjection, type Projection } from './defineProjection';
import { ProjectionDefinitionError } from './errors';

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

/** The options with their defaults in, each checked. */
export interface ProjectorSettings {
  db: Db;
  projections: readonly Projection[];
  upcaster: EventUpcaster;
  holder: string;
  leaseTtlMs: number;
  failurePolicy: FailurePolicy;
  onHandlerError: ((failure: HandlerFailure) => void) | undefined;
  buildTurnMs: number;
}

const DEFAULT_BUILD_TURN_MS = 5_000;

/** What a plain-JavaScript caller may leave out or give as something else: each failed every run, or the construction untyped. */
function checkProjectorParts(options: ProjectorOptions): void {
  const refuse = (problem: string): never => {
    throw new ProjectionDefinitionError(`the projector: ${problem}`);
  };
  if (typeof options !== 'object' || (options as unknown) === null) refuse('options must be an object: { db, projections }');
  if (typeof (options.db as Partial<Db> | undefined)?.transaction !== 'function') refuse('db must be a database (createPgDb, say)');
  if (!Array.isArray(options.projections) || !Array.from(options.projections).every(isProjection)) refuse('projections must be a list of projections (defineProjection)');
  if (options.upcaster !== undefined && !isEventUpcaster(options.upcaster)) refuse('upcaster must be an event upcaster (defineUpcasters, say)');
  if (options.onHandlerError !== undefined && typeof options.onHandlerError !== 'function') refuse('onHandlerError must be a function');
  const { buildTurnMs } = options;
  if (buildTurnMs !== undefined && !(Number.isSafeInteger(buildTurnMs) && buildTurnMs >= 1)) refuse(`buildTurnMs must be a whole number of milliseconds from 1, not ${String(buildTurnMs)}`);
}

/** Refuses, before any projection is registered (its setup run, its generation made), what every run would fail on. */
export function projectorSettings(options: ProjectorOptions): ProjectorSettings {
  checkProjectorParts(options);
  // Two definitions of one name would share its generations' checkpoints and leases.
  const names = options.projections.map((projection) => projection.name);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) throw new ProjectionDefinitionError(`projection ${twice} is given to the projector twice`);
  const holder = options.holder ?? `projector-${randomUUID()}`;
  checkHolder(holder, 'the projector');
  const leaseTtlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const failurePolicy = options.failurePolicy ?? DEFAULT_FAILURE_POLICY;
  checkFailurePolicy(failurePolicy, 'the projector');
  checkLeaseTtl(leaseTtlMs, 'the projector');
  const upcaster = options.upcaster ?? NO_UPCASTING;
  for (const projection of options.projections) {
    const renamed = whyHandledTypeRenamed(upcaster, `projection ${projection.name}`, projection.eventTypes);
    if (renamed) throw new ProjectionDefinitionError(renamed);
  }
  const { db, onHandlerError } = options;
  // A copy: the list checked is the one that runs, whatever the caller's array becomes.
  const projections = [...options.projections];
  return { db, projections, upcaster, holder, leaseTtlMs, failurePolicy, onHandlerError, buildTurnMs: options.buildTurnMs ?? DEFAULT_BUILD_TURN_MS };
}
