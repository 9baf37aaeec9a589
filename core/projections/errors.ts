import { BatchItemError } from '../processing';
import { thrownMessage } from '../errors';
import type { GenerationStatus } from './generationRecords';
import type { ProjectorRun } from './projector';

/** A projection definition that cannot be registered: a bad name, version, table or partition count. */
export class ProjectionDefinitionError extends Error {
  readonly code = 'INVALID_PROJECTION';
  constructor(message: string) {
    super(message);
    this.name = 'ProjectionDefinitionError';
  }
}

/**
 * A projection's handler (or its batch flush) threw; carries the event it was
 * applying, if one. A handler that threw a BatchItemError chose how its batch
 * is retried (until it passes, say): that choice stands.
 */
export class ProjectionHandlerError extends BatchItemError {
  override readonly code = 'PROJECTION_HANDLER_FAILED';
  constructor(
    readonly projection: string,
    readonly eventId: string | null,
    readonly eventType: string | null,
    cause: unknown,
  ) {
    const reason = thrownMessage(cause);
    super(
      eventId === null
        ? `Projection ${projection} failed writing its batch: ${reason}`
        : `Projection ${projection} failed on ${eventType ?? 'event'} ${eventId}: ${reason}`,
      eventId,
      cause,
    );
    this.name = 'ProjectionHandlerError';
  }
}

/** A projection name with no registered generation to read, rebuild or resume. */
export class ProjectionNotFoundError extends Error {
  readonly code = 'PROJECTION_NOT_FOUND';
  constructor(readonly projection: string) {
    super(`No projection ${projection} is registered`);
    this.name = 'ProjectionNotFoundError';
  }
}

/**
 * One or more projections failed their turn of a projector run; the others ran.
 * An AggregateError of their errors, with what the run did: what the others
 * applied, switched and lost counts all the same (the projector function
 * reports it before it fails the invocation).
 */
export class ProjectorRunError extends AggregateError {
  readonly code = 'PROJECTOR_RUN_FAILED';
  constructor(
    errors: readonly unknown[],
    message: string,
    readonly run: ProjectorRun,
  ) {
    super(errors, message);
    this.name = 'ProjectorRunError';
  }
}

/** A live generation, as a superseded projector names it. */
export interface LiveGenerationSummary {
  generation: number;
  version: number;
  status: GenerationStatus;
}

/**
 * The projector's code of a projection is a version no live generation has:
 * a newer version serves it, or builds beside what serves (the deploy was
 * rolled back past a switch, or a newer version's canary was withdrawn). This
 * code builds nothing, and the serving generation may have no code left to
 * keep it up to date: its read model would freeze, silently.
 */
export class ProjectionSupersededError extends Error {
  readonly code = 'PROJECTION_SUPERSEDED';
  constructor(
    readonly projection: string,
    readonly codeVersion: number,
    readonly live: readonly LiveGenerationSummary[],
    /** The lowest version that starts a build of this code: above every version registered. */
    readonly nextVersion: number,
  ) {
    const generations = live.map((generation) => `g${generation.generation} v${generation.version} ${generation.status}`).join(', ');
    const deploy = `the code of a live version, or this code numbered v${nextVersion} or above, which rebuilds it from the start of the feed`;
    // A deploy of that version may be under way: its build switches in once caught up, and this error ends.
    const newerBuild = live.find((generation) => generation.status === 'building' && generation.version > codeVersion);
    const advice = newerBuild ? `If v${newerBuild.version}'s code is being deployed, its build switches in once caught up; if not, deploy ${deploy}` : `Deploy ${deploy}`;
    super(`projection ${projection} is v${codeVersion} in this code, but no generation of v${codeVersion} is live (${generations}): this projector keeps none of it up to date. ${advice}`);
    this.name = 'ProjectionSupersededError';
  }
}
