import { createInProcessDispatcher } from '../core/commands';
import { log } from '../core/observability';
import { createDb, dbConfigFromEnv } from '../core/db';
import { publishingConfigFromEnv, type PublishingConfig } from '../core/publishing';
import {
  assertServiceSchemaCurrent,
  createServiceRuntime,
  migrateService,
  migrationDirectoriesFromEnv,
  type Service,
  type ServiceRuntime,
} from '../core/service';
import { linkedSecrets } from './aws/linkedSecrets';
import { createLambdaDispatcher } from './aws/lambdaDispatcher';
import { nudgesFromEnv, type Nudges } from './nudges';
import { service } from './service';

/** A service's runtime as its functions use it, with the deployment's nudges and publishing settings. */
export interface FunctionRuntime<Context = unknown> extends ServiceRuntime<Context> {
  nudges: Nudges;
  publishing: PublishingConfig;
}

export type RuntimeLoader<Context = unknown> = () => Promise<FunctionRuntime<Context>>;

export interface LoaderOptions {
  env?: Record<string, string | undefined>;
  /**
   * Apply pending migrations first (`npm run dev`, tests). Deployed functions
   * leave that to the Migrator and only check, at cold start, that the schema
   * is current: a function newer than its database fails clearly.
   */
  migrate?: boolean;
}

async function buildRuntime<Context>(service: Service<Context>, options: LoaderOptions): Promise<FunctionRuntime<Context>> {
  const env = { ...(options.env ?? process.env), ...linkedSecrets(options.env ?? process.env) };
  // Every setting read before the pool is made: a bad one fails the start with nothing to close,
  // where a pool left open by each failed start (every invocation tries again) adds up.
  const dbConfig = dbConfigFromEnv(env);
  const directories = migrationDirectoriesFromEnv(env);
  const publishing = publishingConfigFromEnv(env);
  const nudges = nudgesFromEnv(env);
  // In AWS the worker is its own function, invoked asynchronously; locally it runs in this process.
  const workerFunction = env.COMMAND_WORKER_FUNCTION;
  const db = createDb(dbConfig);
  try {
    if (options.migrate) await migrateService(db, service, directories);
    else await assertServiceSchemaCurrent(db, service, directories);
    const runtime = createServiceRuntime(service, {
      db,
      dispatcher: workerFunction ? createLambdaDispatcher({ functionName: workerFunction }) : (run) => createInProcessDispatcher(run),
      onProjectionFailure: ({ processor, partition, error, state, attempts }) => {
        log.error('projection handler failed', { processor, partition, eventId: error.itemId, state, attempts, error });
      },
      sagas: {
        onIgnored: (ignored) => {
          log.warn('saga input with no live instance', { ...ignored });
        },
        onStepError: ({ saga, sagaId, step, attempts, error, stuck }) => {
          log[stuck ? 'error' : 'warn'](stuck ? 'saga step failed for good: instance stuck' : 'saga step failed; retrying', { saga, sagaId, step, attempts, error: error instanceof Error ? error : String(error) });
        },
        onDispatchError: (error) => {
          log.warn('saga steps left for the sweeper', { error: error instanceof Error ? error : String(error) });
        },
        // The steps' commands committed events: the background functions run now rather than at their schedule.
        afterSteps: () => nudges.afterCommit(),
      },
    });
    return { ...runtime, nudges, publishing };
  } catch (error) {
    await db.close();
    throw error;
  }
}

/**
 * Builds a service's runtime once per process (a Lambda container) and hands
 * the same one to every invocation; a failed start (the database down, the
 * schema behind) is retried by the next invocation.
 */
export function runtimeLoader<Context>(forService: Service<Context>, options: LoaderOptions = {}): RuntimeLoader<Context> {
  let loading: Promise<FunctionRuntime<Context>> | undefined;
  return () => {
    loading ??= buildRuntime(forService, options).catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}

/** The deployment's service runtime, shared by the functions of this container. */
export const getRuntime: RuntimeLoader = runtimeLoader(service as Service);
