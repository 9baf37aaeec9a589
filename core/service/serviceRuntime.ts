import {
  createAsyncCommands,
  createCommandBus,
  type AsyncCommands,
  type AsyncCommandsOptions,
  type CommandBus,
  type CommandDefinition,
} from '../commands';
import type { Db } from '../db';
import { createEventStore, type EventStore } from '../eventstore';
import type { HandlerFailure } from '../processing';
import { createProjector, type Projector } from '../projections';
import { createSagaRuntime, type SagaRuntime, type SagaRuntimeOptions } from '../sagas';
import type { BrowserSources } from '../browser';
import type { Service } from './defineService';

export interface RuntimeOptions {
  db: Db;
  /** Where sent commands go: a Lambda invoke in AWS, this process locally. */
  dispatcher: AsyncCommandsOptions['dispatcher'];
  onDispatchError?: AsyncCommandsOptions['onDispatchError'];
  /** Told about each projection handler failure. */
  onProjectionFailure?: (failure: HandlerFailure) => void;
  /** The sagas' clock, their hooks, and what runs after their steps ran commands (nudges). */
  sagas?: Pick<SagaRuntimeOptions, 'clock' | 'onIgnored' | 'onStepError' | 'onDispatchError' | 'afterSteps' | 'stepRetry' | 'stepClaimMs' | 'abandonedStepMs'>;
}

/** Everything a process of the service needs, built once and shared by its handlers. */
export interface ServiceRuntime<Context = unknown> {
  service: Service<Context>;
  db: Db;
  store: EventStore;
  /** Runs every command, public and internal: HTTP checks visibility before it gets here. */
  bus: CommandBus;
  asyncCommands: AsyncCommands;
  projector: Projector;
  /** The service's sagas: their processors, step dispatcher and timeout sweeper. */
  sagas: SagaRuntime;
  /** What the event browser reads: the database, the upcasters and the service's parts. */
  browser: BrowserSources;
  /** What the service's queries share, built on first use. */
  reads(): Context;
}

/** Every command of the service, public and internal, ready for a bus on this database. */
export function serviceCommandDefinitions(service: Service, db: Db, store: EventStore): CommandDefinition[] {
  return service.commands.flatMap((group) => group.build(db, store)).map((built) => built.definition);
}

export function createServiceRuntime<Context>(service: Service<Context>, options: RuntimeOptions): ServiceRuntime<Context> {
  const { db } = options;
  const store = createEventStore(db, service.upcasters ? { upcaster: service.upcasters } : {});
  const bus = createCommandBus({ db, commands: serviceCommandDefinitions(service, db, store) });
  const asyncCommands = createAsyncCommands({
    db,
    bus,
    dispatcher: options.dispatcher,
    ...(options.onDispatchError ? { onDispatchError: options.onDispatchError } : {}),
  });
  const projector = createProjector({
    db,
    projections: service.projections ?? [],
    upcaster: store.upcaster,
    ...(options.onProjectionFailure ? { onHandlerError: options.onProjectionFailure } : {}),
  });
  const sagas = createSagaRuntime({ db, bus, sagas: service.sagas ?? [], upcaster: store.upcaster, ...options.sagas });
  let context: { value: Context } | undefined;
  return {
    service,
    db,
    store,
    bus,
    asyncCommands,
    projector,
    sagas,
    browser: {
      db,
      upcaster: store.upcaster,
      aggregates: service.commands.map((group) => group.aggregate),
      projections: service.projections ?? [],
      sagas: (service.sagas ?? []).map((saga) => saga.name),
    },
    reads() {
      context ??= { value: service.context ? service.context({ db }) : (undefined as Context) };
      return context.value;
    },
  };
}
