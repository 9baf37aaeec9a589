import type { Queryable } from '../db';
import type { EventUpcaster } from '../eventstore';
import { whyHandledTypeRenamed } from '../processing';
import type { Projection } from '../projections';
import type { EventRoutingOptions } from '../publishing';
import type { Saga } from '../sagas';
import { DEFAULT_ACCESS, type AccessSettings } from './accessSettings';
import type { CommandGroup } from './serviceCommands';
import type { QueryRoute } from './serviceQueries';

export interface ServiceDefinition<Context> {
  /** Lower-case letters, digits and dashes: names the service's migrations and its deployment. */
  name: string;
  /** Every aggregate's commands (see aggregateCommands), public or internal. */
  commands: readonly CommandGroup[];
  /** What the service's reads share, built once per process (projection readers, caches). */
  context?: (reads: { db: Queryable }) => Context;
  queries?: readonly QueryRoute<Context>[];
  projections?: readonly Projection[];
  /** Long-running processes across its aggregates; the commands they dispatch are usually internal. */
  sagas?: readonly Saga[];
  /** Brings stored events to their current shape on every read. */
  upcasters?: EventUpcaster;
  publishing?: {
    /** Which stored events are published, on which subjects; the prefix comes from the deployment (PUBLISH_SUBJECT_PREFIX). */
    routing?: Omit<EventRoutingOptions, 'prefix'>;
    /** Subjects of the service's integration messages, which the JetStream stream must capture too. */
    integrationSubjects?: readonly string[];
  };
  /** The folder of the service's own SQL migrations, applied after the framework's and tracked apart. */
  migrations?: string;
  /** Who may call the routes in AWS; default IAM. */
  access?: AccessSettings;
  /** The event browser at /browser (page and API, behind the same access); on unless false. */
  browser?: boolean;
  /** How its functions reach the database in AWS (see DatabaseDeployment). */
  database?: Partial<DatabaseDeployment>;
  /**
   * X-Ray in AWS: Lambda's active tracing on every function, and the Powertools
   * tracer around every handler; off unless true. Off, the tracer is not loaded
   * at all: an HTTP API or a schedule never passes on a sampled trace, so
   * without active tracing it would record nothing, at about 20 ms of every cold start.
   */
  xray?: boolean;
}

/**
 * The database driver its functions use in AWS, and their pool: `pg` for
 * PostgreSQL reached over TCP (RDS through RDS Proxy, which pools for the many
 * Lambda containers), `neon` for Neon's serverless driver over WebSockets. Each
 * container holds its own pool, so keep it at 1 or 2 connections.
 */
export interface DatabaseDeployment {
  driver: 'pg' | 'neon';
  poolMax: number;
  /** How long a function may take to open a connection (`DB_CONNECT_TIMEOUT_MS`; 0: for ever). */
  connectTimeoutMs: number;
  /**
   * How long a function's statement may go unanswered before its connection is
   * closed (`DB_QUERY_TIMEOUT_MS`; 0: for ever). Without it a database that
   * stops answering holds each invocation until Lambda's own limit. The
   * Migrator has none: a migration may rightly run for minutes.
   */
  queryTimeoutMs: number;
}

export const DEFAULT_DATABASE_DEPLOYMENT: DatabaseDeployment = { driver: 'pg', poolMax: 2, connectTimeoutMs: 5_000, queryTimeoutMs: 10_000 };

function checkDatabaseDeployment(database: DatabaseDeployment): void {
  if (!Number.isInteger(database.poolMax) || database.poolMax < 1) {
    throw new ServiceDefinitionError(`database.poolMax must be a whole number of connections, at least 1, not ${database.poolMax}`);
  }
  for (const bound of ['connectTimeoutMs', 'queryTimeoutMs'] as const) {
    if (!Number.isInteger(database[bound]) || database[bound] < 0) {
      throw new ServiceDefinitionError(`database.${bound} must be a whole number of milliseconds, 0 for none, not ${database[bound]}`);
    }
  }
}

/** A checked service definition. */
export interface Service<Context = unknown> extends ServiceDefinition<Context> {
  readonly access: AccessSettings;
  readonly database: DatabaseDeployment;
  readonly xray: boolean;
  /** Command types anyone authorised may send over HTTP. */
  readonly publicCommandTypes: ReadonlySet<string>;
}

export class ServiceDefinitionError extends Error {
  readonly code = 'INVALID_SERVICE';
  constructor(message: string) {
    super(message);
    this.name = 'ServiceDefinitionError';
  }
}

const NAME = /^[a-z][a-z0-9-]{0,39}$/;

function duplicates(values: readonly string[]): string[] {
  return values.filter((value, index) => values.indexOf(value) !== index);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Publishing as plain JavaScript may give it: one subject as text was spread
 * into a subject per character (its messages parked), and a routing prefix
 * replaced the deployment's, whose stream then captured no event.
 */
function checkPublishing(publishing: unknown): void {
  if (publishing === undefined) return;
  if (!isObject(publishing)) throw new ServiceDefinitionError('publishing must be an object: { routing, integrationSubjects }');
  const { integrationSubjects, routing } = publishing;
  if (integrationSubjects !== undefined && !(Array.isArray(integrationSubjects) && integrationSubjects.every((subject) => typeof subject === 'string'))) {
    throw new ServiceDefinitionError('publishing.integrationSubjects must be a list of subjects the stream captures');
  }
  if (routing === undefined) return;
  if (!isObject(routing)) throw new ServiceDefinitionError('publishing.routing must be an object: { subjectFor }');
  if ('prefix' in routing) throw new ServiceDefinitionError('publishing.routing takes no prefix: the deployment sets it (PUBLISH_SUBJECT_PREFIX)');
  if (routing.subjectFor !== undefined && typeof routing.subjectFor !== 'function') throw new ServiceDefinitionError('publishing.routing.subjectFor must be a function');
}

/** Every projection and saga of the service handles only types its upcasters still hand over under their own names. */
function refuseHandlersOfRenamedTypes(definition: ServiceDefinition<unknown>, upcasters: EventUpcaster): void {
  const handlers = [
    ...(definition.projections ?? []).map((projection) => ({ owner: `projection ${projection.name}`, types: projection.eventTypes })),
    ...(definition.sagas ?? []).map((saga) => ({ owner: `saga ${saga.name}`, types: saga.eventTypes })),
  ];
  for (const { owner, types } of handlers) {
    const renamed = whyHandledTypeRenamed(upcasters, owner, types);
    if (renamed) throw new ServiceDefinitionError(renamed);
  }
}

/**
 * The one place a service is declared: its aggregates' commands (each public
 * or internal), its queries, projections, publishing routes, upcasters,
 * migrations and access. Every function, `npm run dev` and the SST app are
 * built from it.
 */
export function defineService<Context = undefined>(definition: ServiceDefinition<Context>): Service<Context> {
  if (!NAME.test(definition.name)) {
    throw new ServiceDefinitionError(`service name ${JSON.stringify(definition.name)} must be 1-40 lower-case letters, digits or dashes, starting with a letter`);
  }
  const commandTypes = definition.commands.flatMap((group) => group.types);
  const sameType = duplicates(commandTypes.map((command) => command.type));
  if (sameType.length > 0) throw new ServiceDefinitionError(`command types declared twice: ${[...new Set(sameType)].join(', ')}`);
  const samePath = duplicates((definition.queries ?? []).map((query) => query.path));
  if (samePath.length > 0) throw new ServiceDefinitionError(`query paths declared twice: ${[...new Set(samePath)].join(', ')}`);
  const sameProjection = duplicates((definition.projections ?? []).map((projection) => projection.name));
  if (sameProjection.length > 0) throw new ServiceDefinitionError(`projections declared twice: ${[...new Set(sameProjection)].join(', ')}`);
  const sameSaga = duplicates((definition.sagas ?? []).map((saga) => saga.name));
  if (sameSaga.length > 0) throw new ServiceDefinitionError(`sagas declared twice: ${[...new Set(sameSaga)].join(', ')}`);
  for (const query of definition.queries ?? []) {
    if (!query.path.startsWith('/') || query.path.startsWith('/commands') || query.path.startsWith('/browser')) {
      throw new ServiceDefinitionError(`query path ${query.path} must start with "/" and stay out of /commands and /browser`);
    }
  }
  checkPublishing(definition.publishing);
  if (definition.upcasters) refuseHandlersOfRenamedTypes(definition, definition.upcasters);
  const database = { ...DEFAULT_DATABASE_DEPLOYMENT, ...definition.database };
  checkDatabaseDeployment(database);
  return {
    ...definition,
    access: definition.access ?? DEFAULT_ACCESS,
    database,
    xray: definition.xray ?? false,
    publicCommandTypes: new Set(commandTypes.filter((command) => command.visibility === 'public').map((command) => command.type)),
  };
}
