import { startBackgroundLoop, type BackgroundLoop } from '../../core/background';
import { indexStories } from '../../core/browser';
import { addMetricsSink, log } from '../../core/observability';
import { natsAddressToShow } from '../../core/publishing';
import { createServicePublisher, reportServiceGauges, retentionConfigFromEnv, runRetention, serviceRoutes, type Service, type ServiceRoute } from '../../core/service';
import { getCommandHandler, postCommandHandler } from '../http/commandHandlers';
import { browserHandler } from '../http/browserHandler';
import { queryHandler } from '../http/queryHandler';
import { runtimeLoader, type FunctionRuntime, type RuntimeLoader } from '../runtime';
import { startLocalServer } from './localServer';
import { PrometheusRegistry } from './prometheusRegistry';
import type { HttpHandler, LocalRoute } from './routes';

export interface DevServerOptions {
  port: number;
  /** The settings the functions would read in AWS (DATABASE_URL, NATS_URL...); default this process's. */
  env?: Record<string, string | undefined>;
  /** When set, every route but the browser's page asks for `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** Where background failures go; default `console.error`. */
  onError?: (what: string, error: unknown) => void;
  /** Run the background work (projector, publisher, sagas, sweeps) here too; default true. False serves the HTTP API alone. */
  background?: boolean;
}

/** `GET /metrics`: core's figures since start, and the service's gauges read now, as Prometheus text. */
function metricsRoute(registry: PrometheusRegistry, runtime: FunctionRuntime): LocalRoute {
  return {
    method: 'GET',
    path: '/metrics',
    handler: async () => {
      await reportServiceGauges(runtime);
      return { statusCode: 200, headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }, body: registry.render() };
    },
  };
}

export interface DevServer {
  url: string;
  runtime: FunctionRuntime;
  /** Whether the publisher runs (NATS_URL is set). */
  publishing: boolean;
  stop(): Promise<void>;
}

const handlerOf = (route: ServiceRoute, load: RuntimeLoader): HttpHandler => {
  switch (route.kind) {
    case 'command':
      return postCommandHandler(load);
    case 'command-status':
      return getCommandHandler(load);
    case 'query':
      return queryHandler(load);
    case 'browser':
      return browserHandler(load);
  }
};

/**
 * Serves a service the way its deployment does, on this machine: the same
 * generic handlers behind the same routes (derived from the service), and the
 * background work its schedules would run (projector, publisher, saga
 * processor and timeout sweeper, command sweeper) as loops in this process,
 * woken by every commit. Migrates first.
 */
export async function startDevServer(service: Service, options: DevServerOptions): Promise<DevServer> {
  const onError =
    options.onError ??
    ((what: string, error: unknown) => {
      console.error(`${what} failed`, error);
    });
  const load = runtimeLoader(service, { migrate: true, ...(options.env ? { env: options.env } : {}) });
  const runtime = await load();
  const registry = new PrometheusRegistry();
  const removeSink = addMetricsSink(registry);
  const server = await startLocalServer({
    port: options.port,
    routes: [
      ...serviceRoutes(service).map((route) => ({ method: route.method, path: route.path, handler: handlerOf(route, load), ...(route.open ? { open: true } : {}) })),
      metricsRoute(registry, runtime),
    ],
    ...(options.bearerToken ? { bearerToken: options.bearerToken } : {}),
  });
  const loops: BackgroundLoop[] = [];
  const afterCommit: BackgroundLoop[] = [];
  const background = options.background ?? true;
  const loop = (what: string, run: () => Promise<unknown>, idleMs?: number) => {
    const started = startBackgroundLoop(run, { ...(idleMs ? { idleMs } : {}), onError: (error) => {
        onError(what, error);
      },
    });
    loops.push(started);
    return started;
  };
  if (background && (service.projections ?? []).length > 0) afterCommit.push(loop('projector run', () => runtime.projector.runUntilCaughtUp()));
  const natsUrl = runtime.publishing.NATS_URL;
  // NATS unreachable (or refusing) says so, at the engine's backoff (doubling to 5 s), while events wait in the feed.
  const publisher = natsUrl && background
    ? createServicePublisher(runtime, { ...runtime.publishing, NATS_URL: natsUrl }, {
        onRetry: ({ processor, partition, error, retryInMs }) => {
          log.warn('a batch did not go out; retrying', { processor, partition, retryInMs, natsUrl: natsAddressToShow(natsUrl), error: error instanceof Error ? error.message : String(error) });
        },
      })
    : undefined;
  if (publisher) {
    afterCommit.push(loop('publisher run', async () => {
      const report = await publisher.run({ deadline: Date.now() + 10_000 });
      // Reported, not thrown: the run's publishing stands.
      if (report.cleanupError !== null) onError('outbox cleanup', new Error(report.cleanupError));
    }));
  }
  if (background && (service.sagas ?? []).length > 0) {
    const holder = `dev-${String(process.pid)}`;
    afterCommit.push(loop('saga processor run', () => runtime.sagas.run({ holder, deadline: Date.now() + 10_000 })));
    // Each second: timeouts fire within about a second of their due time.
    loop('saga sweep', () => runtime.sagas.sweep(), 1_000);
  }
  const retention = retentionConfigFromEnv(options.env ?? process.env);
  // Apart, as the deployed sweeper runs them: one that keeps failing must not starve the other.
  if (background) {
    loop('command sweep', () => runtime.asyncCommands.sweepPendingCommands(), 30_000);
    loop('retention', () => runRetention(runtime.db, retention), 30_000);
    loop('story index', () => indexStories(runtime.db, { holder: `dev-${String(process.pid)}`, deadline: Date.now() + 10_000 }), 30_000);
  }
  runtime.nudges.onNudge(() => {
    for (const background of afterCommit) background.wake();
  });
  return {
    url: server.url,
    runtime,
    publishing: publisher !== undefined,
    async stop() {
      // The database is closed whatever else fails, so the data directory's lock is let go.
      try {
        await server.close();
        for (const background of loops) await background.stop();
        await publisher?.close();
      } finally {
        removeSink();
        await runtime.db.close();
      }
    },
  };
}
