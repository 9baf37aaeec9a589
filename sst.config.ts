// The AWS app (SST v4, see ../shared/ARCHITECTURE.md), derived from the
// service this deployment runs (functions/service.ts): its routes, their auth,
// its schedules and its database settings. No list here is kept by hand.
//
// Globals ($config, sst, aws, $dev, $cli) come from SST. `npm run check:sst`
// generates SST's real platform types (`sst install`) and type-checks this file
// against them with tsconfig.sst.json; the ordinary `npm run typecheck` sees the
// small declarations in test/sst/sstGlobals.d.ts instead, so it works without
// `.sst/`. test/sst/sstConfig.test.ts evaluates this file with recording stubs.
//
// No top-level imports: SST evaluates this file itself. What it needs from the
// project is imported inside run().

export default $config({
  app(input) {
    return {
      name: 'serverless-event-sourcing',
      home: 'aws',
      removal: input.stage === 'production' ? 'retain' : 'remove',
      protect: input.stage === 'production',
    };
  },

  async run() {
    const path = await import('node:path');
    const { service } = await import('./functions/service');
    const { serviceRoutes, scheduledWork } = await import('./core/service');
    const { bundleExternals, ESBUILD_PLUGINS } = await import('./functions/bundling');

    // `npx sst secret set DATABASE_URL postgres://... --stage <stage>` (and NATS_URL):
    // linked, so the functions read them through SST's Resource, never from plain environment variables.
    const databaseUrl = new sst.Secret('DATABASE_URL');
    const natsUrl = new sst.Secret('NATS_URL');

    // Every function carries the migrations' SQL: the Migrator applies them, the
    // others check at cold start that the database has them all. A bundle sits
    // at the root of its package, so the folders are named for it.
    const root = $cli.paths.root;
    const serviceMigrations = service.migrations ? path.relative(root, service.migrations) : undefined;
    const packageRoot = $dev ? root : '/var/task';
    // X-Ray only where the service asks for it (see ServiceDefinition.xray): active tracing, the tracer in each
    // handler, and the right to send segments, without which Lambda refuses active tracing.
    const activeTracing = (args: { tracingConfig?: unknown }): undefined => {
      if (service.xray) args.tracingConfig = { mode: 'Active' };
      return undefined;
    };
    const shared = {
      runtime: 'nodejs22.x',
      link: [databaseUrl],
      copyFiles: [
        { from: 'migrations', to: 'migrations' },
        ...(serviceMigrations ? [{ from: serviceMigrations, to: 'service-migrations' }] : []),
      ],
      environment: {
        DB_DRIVER: service.database.driver,
        DB_POOL_MAX: String(service.database.poolMax),
        DB_CONNECT_TIMEOUT_MS: String(service.database.connectTimeoutMs),
        DB_QUERY_TIMEOUT_MS: String(service.database.queryTimeoutMs),
        POWERTOOLS_SERVICE_NAME: service.name,
        POWERTOOLS_TRACE_ENABLED: String(service.xray),
        MIGRATIONS_DIRECTORY: $dev ? path.join(root, 'migrations') : `${packageRoot}/migrations`,
        ...(serviceMigrations
          ? { SERVICE_MIGRATIONS_DIRECTORY: $dev ? path.join(root, serviceMigrations) : `${packageRoot}/service-migrations` }
          : {}),
      },
      nodejs: { esbuild: { external: bundleExternals(service.database.driver) }, plugins: ESBUILD_PLUGINS },
      ...(service.xray
        ? { permissions: [{ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }], transform: { function: activeTracing } }
        : {}),
    } satisfies Omit<sst.aws.FunctionArgs, 'handler'>;

    // Applies the migrations on every deploy, before any function of the new code is created.
    // Its statements are not bounded: building an index on a large table may rightly take minutes.
    const migrator = new sst.aws.Function('Migrator', {
      ...shared,
      environment: { ...shared.environment, DB_QUERY_TIMEOUT_MS: '0' },
      handler: 'functions/migrator.handler',
      timeout: '15 minutes',
    });
    const migration = new aws.lambda.Invocation('Migrate', {
      functionName: migrator.name,
      input: JSON.stringify({ migrate: true }),
      triggers: { deployedAt: Date.now().toString() },
    });
    const afterMigration = {
      ...shared,
      transform: {
        function: (args: { tracingConfig?: unknown }, opts: { dependsOn?: unknown }) => {
          activeTracing(args);
          opts.dependsOn = [migration];
        },
      },
    } satisfies Omit<sst.aws.FunctionArgs, 'handler'>;

    const work = scheduledWork(service);

    // Publishes stored events and integration messages to JetStream: every minute, and when nudged after a commit.
    const publisher = new sst.aws.Function('Publisher', {
      ...afterMigration,
      link: [databaseUrl, natsUrl],
      handler: 'functions/publisher.handler',
      timeout: '60 seconds',
    });
    // Keeps the read models up to date; concurrent invocations share the partitions through leases.
    const projector = work.includes('projector')
      ? new sst.aws.Function('Projector', { ...afterMigration, handler: 'functions/projector.handler', timeout: '60 seconds' })
      : undefined;

    // Whatever commits events nudges the background functions that read them (asynchronous
    // invokes of the names in NUDGE_FUNCTIONS); linking grants the invoke.
    // The publisher is always nudged; `others` after it.
    const nudgingOf = (others: readonly sst.aws.Function[]) => ({
      link: [databaseUrl, publisher, ...others],
      environment: {
        ...shared.environment,
        NUDGE_FUNCTIONS: others.reduce((names, other) => $interpolate`${names},${other.name}`, $interpolate`${publisher.name}`),
      },
    });
    const feedReaders = projector ? [projector] : [];

    // Sagas: the processor starts and advances instances from the feed and dispatches their
    // steps; the sweeper fires their timeouts (nudged by the processor, which schedules them).
    const sagas = work.includes('saga-processor');
    const sagaSweeper = sagas
      ? new sst.aws.Function('SagaSweeper', { ...afterMigration, ...nudgingOf(feedReaders), handler: 'functions/sagaSweeper.handler', timeout: '60 seconds' })
      : undefined;
    const sagaProcessor = sagaSweeper
      ? new sst.aws.Function('SagaProcessor', {
          ...afterMigration,
          ...nudgingOf([...feedReaders, sagaSweeper]),
          handler: 'functions/sagaProcessor.handler',
          timeout: '60 seconds',
        })
      : undefined;
    const nudging = nudgingOf(sagaProcessor ? [...feedReaders, sagaProcessor] : feedReaders);

    // Runs one stored command; invoked asynchronously by the command route, and again by the sweeper.
    const commandWorker = new sst.aws.Function('CommandWorker', {
      ...afterMigration,
      ...nudging,
      handler: 'functions/commandWorker.handler',
      timeout: '60 seconds',
    });
    const invokesWorker = {
      ...afterMigration,
      link: [...nudging.link, commandWorker],
      environment: { ...nudging.environment, COMMAND_WORKER_FUNCTION: commandWorker.name },
    } satisfies Omit<sst.aws.FunctionArgs, 'handler'>;

    // Every route carries the service's access: a JWT authorizer, IAM (SigV4), or nothing when it says public.
    // The browser's page alone is open: it holds no data, and its API calls carry the credentials.
    const api = new sst.aws.ApiGatewayV2('Api');
    const access = service.access;
    const routeArgs =
      access.kind === 'jwt'
        ? {
            auth: {
              jwt: {
                authorizer: api.addAuthorizer({ name: 'Jwt', jwt: { issuer: access.issuer, audiences: [...access.audiences] } }).id,
                ...(access.scopes ? { scopes: [...access.scopes] } : {}),
              },
            },
          }
        : access.kind === 'iam'
          ? { auth: { iam: true } }
          : {};
    const handlers = {
      command: { ...invokesWorker, handler: 'functions/http/postCommand.handler' },
      'command-status': { ...afterMigration, handler: 'functions/http/getCommand.handler' },
      query: { ...afterMigration, handler: 'functions/http/query.handler' },
      browser: { ...afterMigration, handler: 'functions/http/browser.handler' },
    } satisfies Record<ReturnType<typeof serviceRoutes>[number]['kind'], sst.aws.FunctionArgs>;
    for (const route of serviceRoutes(service)) api.route(`${route.method} ${route.path}`, handlers[route.kind], route.open ? {} : routeArgs);

    for (const scheduled of work) {
      switch (scheduled) {
        case 'publisher':
          new sst.aws.CronV2('PublisherSchedule', { schedule: 'rate(1 minute)', function: publisher });
          break;
        case 'projector':
          if (projector) new sst.aws.CronV2('ProjectorSchedule', { schedule: 'rate(1 minute)', function: projector });
          break;
        case 'saga-processor':
          if (sagaProcessor) new sst.aws.CronV2('SagaProcessorSchedule', { schedule: 'rate(1 minute)', function: sagaProcessor });
          break;
        case 'saga-sweeper':
          if (sagaSweeper) new sst.aws.CronV2('SagaSweeperSchedule', { schedule: 'rate(1 minute)', function: sagaSweeper });
          break;
        case 'command-sweeper':
          new sst.aws.CronV2('CommandSweeper', {
            schedule: 'rate(1 minute)',
            function: { ...invokesWorker, handler: 'functions/commandSweeper.handler', timeout: '55 seconds' },
          });
          break;
      }
    }

    return {
      service: service.name,
      api: api.url,
      migrator: migrator.name,
      commandWorker: commandWorker.name,
      publisher: publisher.name,
      ...(projector ? { projector: projector.name } : {}),
      ...(sagaProcessor && sagaSweeper ? { sagaProcessor: sagaProcessor.name, sagaSweeper: sagaSweeper.name } : {}),
    };
  },
});
