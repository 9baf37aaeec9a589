import type { Queryable } from '../db';
import { handleEvent } from '../observability';
import { isName, MAX_FEED_BATCH_SIZE, MAX_FEED_PARTITIONS, MAX_NAME_LENGTH, type EventShape, type RecordedEvent } from '../eventstore';
import { findUnstorableText } from '../text';
import { dropTables } from './dropTables';
import { ProjectionDefinitionError, ProjectionHandlerError } from './errors';
import { checkIdentifier, type TableNames } from './projectionNames';

const MAX_VERSION = 2_147_483_647;

/** What a handler writes with: the batch's transaction, its generation's tables, and the batch's scratch value. */
export interface ProjectionContext<Table extends string, Batch> {
  tx: Queryable;
  tables: TableNames<Table>;
  batch: Batch;
}

/** At most one handler per event type of the union; each sees only its own event, upcasted. */
export type ProjectionHandlers<Event extends EventShape, Table extends string, Batch> = {
  [Type in Event['type']]?: (
    event: RecordedEvent<Extract<Event, { type: Type }>>,
    context: ProjectionContext<Table, Batch>,
  ) => void | PromiseLike<void>;
};

export interface ProjectionDefinition<Event extends EventShape, Table extends string, Batch> {
  /** Lower-case letters and digits, words joined by single underscores; at most 30. */
  name: string;
  /** Bump it when the handlers or tables change: the new version is built beside the old one. */
  version: number;
  /** Streams are split by `stream_partition(stream_id, partitions)`; default 1. Changing it needs a version bump. */
  partitions?: number;
  /** Events per batch (one transaction each); default 500. */
  batchSize?: number;
  /** Only events of these stream types are read; default all. */
  streamTypes?: readonly string[];
  /** Base names (at most 20 characters) of the read-model tables; each generation gets its own, named `<name>__<table>_g<generation>`. */
  tables: readonly Table[];
  /** Creates a generation's tables (and indexes), in the transaction that registers it. */
  setup?: (tx: Queryable, tables: TableNames<Table>) => Promise<void>;
  /** Removes a generation's tables; default `DROP TABLE IF EXISTS` each of them. */
  teardown?: (tx: Queryable, tables: TableNames<Table>) => Promise<void>;
  handlers: ProjectionHandlers<Event, Table, Batch>;
  /**
   * A fresh scratch value per batch, which handlers fill and `flush` writes
   * once, for projections that write set-based rather than one row per event.
   */
  startBatch?: () => Batch;
  /** Runs after the batch's handlers, before its checkpoint is stored, in the same transaction. */
  flush?: (context: ProjectionContext<Table, Batch>) => Promise<void>;
}

/** A checked projection, as the projector runs it; its handler map is erased to the event types it names. */
export interface Projection<Table extends string = string> {
  readonly name: string;
  readonly version: number;
  readonly partitions: number;
  readonly batchSize: number;
  readonly streamTypes: readonly string[] | undefined;
  readonly tables: readonly Table[];
  /** The event types it has handlers for: only these are read from the feed. */
  readonly eventTypes: readonly string[];
  setup(tx: Queryable, tables: TableNames<Table>): Promise<void>;
  teardown(tx: Queryable, tables: TableNames<Table>): Promise<void>;
  /** Applies one batch of events in `tx`; a failure is a ProjectionHandlerError naming the event. */
  apply(events: readonly RecordedEvent[], tx: Queryable, tables: TableNames<Table>): Promise<void>;
}

export const DEFAULT_PROJECTION_BATCH_SIZE = 500;

/** Whether a value is a projection `defineProjection` made (as far as a caller from plain JavaScript can be told). */
export const isProjection = (value: unknown): value is Projection =>
  typeof value === 'object' && value !== null && typeof (value as Projection).name === 'string' && typeof (value as Projection).apply === 'function';

/** Refuses, naming the caller, what is no projection: from plain JavaScript it failed untyped, or as the database's refusal of a null name. */
export function checkProjectionGiven(value: unknown, caller: string): asserts value is Projection {
  if (!isProjection(value)) throw new ProjectionDefinitionError(`${caller} needs a projection (defineProjection)`);
}

function checkRange(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ProjectionDefinitionError(`${field} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

type ErasedHandler<Table extends string, Batch> = (event: RecordedEvent, context: ProjectionContext<Table, Batch>) => void | PromiseLike<void>;

/**
 * What TypeScript checks, checked again for a definition from plain JavaScript
 * (or a config): tables left out failed as a TypeError, and a handler or a hook
 * given as its SQL was taken, to fail every batch or the build's setup.
 */
function checkShapeFromJavaScript(definition: { name: string; tables: unknown; handlers: object }): void {
  if (!Array.isArray(definition.tables)) throw new ProjectionDefinitionError(`projection ${definition.name}: tables must be a list of table names (empty for none)`);
  // A list would be read as handlers of types "0", "1", ...
  if (typeof definition.handlers !== 'object' || (definition.handlers as unknown) === null || Array.isArray(definition.handlers)) {
    throw new ProjectionDefinitionError(`projection ${definition.name}: handlers must be an object of event types to functions`);
  }
  const handlers: [string, unknown][] = Object.entries(definition.handlers);
  const notAFunction = handlers.find(([, handler]) => handler !== undefined && typeof handler !== 'function');
  if (notAFunction) throw new ProjectionDefinitionError(`projection ${definition.name}: the handler of ${notAFunction[0]} must be a function`);
  const hooks: Record<string, unknown> = definition;
  for (const hook of ['setup', 'teardown', 'startBatch', 'flush']) {
    const given = hooks[hook];
    if (given !== undefined && typeof given !== 'function') throw new ProjectionDefinitionError(`projection ${definition.name}: ${hook} must be a function, or be left out`);
  }
}

/**
 * Declares a projection of an event union: `defineProjection<AccountEvent>()({...})`.
 * A handler for a type outside the union does not compile, and each handler's
 * event is narrowed to its type. Only the types with a handler are delivered.
 */
export function defineProjection<Event extends EventShape>() {
  return <Table extends string, Batch = undefined>(definition: ProjectionDefinition<Event, Table, Batch>): Projection<Table> => {
    if (typeof definition !== 'object' || (definition as unknown) === null) throw new ProjectionDefinitionError('a projection is defined by an object: { name, version, tables, handlers }');
    checkIdentifier('projection', definition.name);
    checkRange('version', definition.version, 1, MAX_VERSION);
    const partitions = definition.partitions ?? 1;
    checkRange('partitions', partitions, 1, MAX_FEED_PARTITIONS);
    const batchSize = definition.batchSize ?? DEFAULT_PROJECTION_BATCH_SIZE;
    checkRange('batchSize', batchSize, 1, MAX_FEED_BATCH_SIZE);
    checkShapeFromJavaScript(definition);
    for (const table of definition.tables) checkIdentifier('table', table);
    if (new Set(definition.tables).size !== definition.tables.length) {
      throw new ProjectionDefinitionError(`projection ${definition.name} names a table twice`);
    }
    // The mapped handler type guarantees, per type, the event its handler expects.
    const handlers = definition.handlers as Partial<Record<string, ErasedHandler<Table, Batch>>>;
    // Each type's handler with its span's name, made once rather than per event.
    const routes = new Map<string, { handler: ErasedHandler<Table, Batch>; spanName: string }>();
    for (const [type, handler] of Object.entries(handlers)) if (handler) routes.set(type, { handler, spanName: `project ${type}` });
    const eventTypes = [...routes.keys()];
    if (eventTypes.length === 0) throw new ProjectionDefinitionError(`projection ${definition.name} handles no event type`);
    for (const type of eventTypes as readonly unknown[]) {
      if (!isName(type)) throw new ProjectionDefinitionError(`projection ${definition.name}: the handler of ${JSON.stringify(type)} handles no event type: types are 1 to ${MAX_NAME_LENGTH} characters`);
    }
    const streamTypes: unknown = definition.streamTypes;
    // A type no stream can have ('', over 200 characters) reads nothing, as an empty list would.
    if (streamTypes !== undefined && !(Array.isArray(streamTypes) && streamTypes.every(isName))) {
      throw new ProjectionDefinitionError(`projection ${definition.name}: streamTypes must be a list of stream types (1 to ${MAX_NAME_LENGTH} characters), or be left out to read them all`);
    }
    if (definition.streamTypes?.length === 0) throw new ProjectionDefinitionError(`projection ${definition.name} reads no stream type: leave streamTypes out to read them all`);
    // Refused here, not by every read of the build's feed once it is registered.
    const [unstorable] = findUnstorableText({ eventTypes, streamTypes });
    if (unstorable) throw new ProjectionDefinitionError(`projection ${definition.name}: ${unstorable.path} ${unstorable.message}`);
    const startBatch = definition.startBatch ?? (() => undefined as Batch);

    return {
      name: definition.name,
      version: definition.version,
      partitions,
      batchSize,
      streamTypes: definition.streamTypes,
      tables: definition.tables,
      eventTypes,
      setup: (tx, tables) => definition.setup?.(tx, tables) ?? Promise.resolve(),
      teardown: async (tx, tables) => {
        if (definition.teardown) return definition.teardown(tx, tables);
        await dropTables(tx, definition.tables.map((table) => tables[table]));
      },
      async apply(events, tx, tables) {
        let batch: Batch;
        try {
          batch = startBatch();
        } catch (error) {
          throw new ProjectionHandlerError(definition.name, null, null, error);
        }
        const context: ProjectionContext<Table, Batch> = { tx, tables, batch };
        for (const event of events) {
          const route = routes.get(event.type);
          if (!route) continue;
          try {
            const handled = handleEvent(event, route.spanName, () => route.handler(event, context));
            // handleEvent hands any thenable back as a native Promise, adopted in the event's context.
            if (handled instanceof Promise) await handled;
          } catch (error) {
            throw new ProjectionHandlerError(definition.name, event.eventId, event.type, error);
          }
        }
        if (!definition.flush) return;
        try {
          await definition.flush(context);
        } catch (error) {
          throw new ProjectionHandlerError(definition.name, null, null, error);
        }
      },
    };
  };
}
