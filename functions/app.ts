import { bankProjections, createAccountQueries, type AccountQueries } from '../core/bank';
import { bankCommands } from '../core/bank/bankCommands';
import {
  createAsyncCommands,
  createCommandBus,
  createInProcessDispatcher,
  type AsyncCommands,
  type CommandBus,
} from '../core/commands';
import { createDb, dbConfigFromEnv, migrateOnColdStart, type Db } from '../core/db';
import { createEventStore, type EventStore } from '../core/eventstore';
import { publishingConfigFromEnv, type PublishingConfig } from '../core/publishing';
import { createProjector, type Projector } from '../core/projections';
import { createLambdaDispatcher } from './aws/lambdaDispatcher';
import { nudgesFromEnv, type Nudges } from './nudges';
import { logger } from './observability';

/** Everything the handlers share, built once per container and reused by warm invocations. */
export interface App {
  db: Db;
  store: EventStore;
  bus: CommandBus;
  asyncCommands: AsyncCommands;
  publishing: PublishingConfig;
  nudges: Nudges;
  /** Keeps the bank's read models up to date (the projector function, the dev loop). */
  projector: Projector;
  accountQueries: AccountQueries;
}

let app: Promise<App> | undefined;

async function buildApp(): Promise<App> {
  const db = createDb(dbConfigFromEnv());
  // Bundled handlers cannot find the migrations relative to their source: SST copies them and says where.
  const directory = process.env.MIGRATIONS_DIRECTORY;
  await migrateOnColdStart(db, directory ? { directory } : {});
  const publishing = publishingConfigFromEnv();
  const store = createEventStore(db);
  const bus = createCommandBus({ db, commands: bankCommands(db, store) });
  // In AWS the worker is its own function, invoked asynchronously; locally it runs in this process.
  const workerFunction = process.env.COMMAND_WORKER_FUNCTION;
  const asyncCommands = createAsyncCommands({
    db,
    bus,
    dispatcher: workerFunction
      ? createLambdaDispatcher({ functionName: workerFunction })
      : (runPendingCommand) => createInProcessDispatcher(runPendingCommand),
  });
  const projector = createProjector({
    db,
    projections: bankProjections,
    upcaster: store.upcaster,
    onHandlerError: ({ processor, partition, error, state, attempts }) => {
      logger.error('projection handler failed', { processor, partition, eventId: error.itemId, state, attempts, error });
    },
  });
  return { db, store, bus, asyncCommands, publishing, nudges: nudgesFromEnv(), projector, accountQueries: createAccountQueries(db) };
}

export function getApp(): Promise<App> {
  app ??= buildApp().catch((error: unknown) => {
    // A failed start (database down) is retried by the next invocation.
    app = undefined;
    throw error;
  });
  return app;
}
