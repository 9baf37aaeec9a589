// The AWS app (SST v4, see ../shared/ARCHITECTURE.md).
//
// Globals ($config, sst, $dev, $cli) come from SST. `npm run check:sst` generates
// SST's real platform types (`sst install`) and type-checks this file against
// them with tsconfig.sst.json; the ordinary `npm run typecheck` sees the small
// declarations in test/sst/sstGlobals.d.ts instead, so it works without `.sst/`.
// test/sst/sstConfig.test.ts evaluates this file with recording stubs.
//
// No top-level imports: SST evaluates this file itself.

export default $config({
  app(input) {
    return {
      name: 'serverless-event-sourcing',
      home: 'aws',
      removal: input.stage === 'production' ? 'retain' : 'remove',
      protect: input.stage === 'production',
    };
  },

  // Not `async`: nothing here awaits (the lint rule require-await).
  run() {
    // `npx sst secret set DATABASE_URL postgres://... --stage <stage>`
    const databaseUrl = new sst.Secret('DATABASE_URL');

    // What every function shares. The handlers migrate on cold start, so each
    // bundle carries the SQL files. SST bundles a handler into one file at the
    // root of the package, so core's default migrations directory (two levels
    // above core/db/migrate.ts) does not exist there: the handlers must pass
    // MIGRATIONS_DIRECTORY to migrateOnColdStart.
    const migrationsDirectory = $dev ? `${$cli.paths.root}/migrations` : '/var/task/migrations';
    const shared = {
      runtime: 'nodejs22.x',
      link: [databaseUrl],
      copyFiles: [{ from: 'migrations', to: 'migrations' }],
      environment: {
        DATABASE_URL: databaseUrl.value,
        MIGRATIONS_DIRECTORY: migrationsDirectory,
      },
    } satisfies Omit<sst.aws.FunctionArgs, 'handler'>;

    // `npx sst secret set NATS_URL nats://user:password@host:4222 --stage <stage>`
    const natsUrl = new sst.Secret('NATS_URL');

    // Publishes the outbox to JetStream: every minute, and when nudged after a commit.
    const publisher = new sst.aws.Function('Publisher', {
      ...shared,
      link: [databaseUrl, natsUrl],
      environment: { ...shared.environment, NATS_URL: natsUrl.value },
      handler: 'functions/publisher.handler',
      timeout: '60 seconds',
    });
    new sst.aws.CronV2('PublisherSchedule', { schedule: 'rate(1 minute)', function: publisher });

    // Keeps the read models up to date: every minute, and when nudged after a
    // commit. Concurrent invocations share the partitions through leases.
    const projector = new sst.aws.Function('Projector', {
      ...shared,
      handler: 'functions/projector.handler',
      timeout: '60 seconds',
    });
    new sst.aws.CronV2('ProjectorSchedule', { schedule: 'rate(1 minute)', function: projector });

    // Whatever commits events nudges the background functions (asynchronous
    // invokes of the names in NUDGE_FUNCTIONS); linking grants the invoke.
    const nudging = {
      link: [publisher, projector],
      environment: { NUDGE_FUNCTIONS: $interpolate`${publisher.name},${projector.name}` },
    };

    // Runs one stored command; invoked asynchronously (InvocationType 'Event')
    // by the command endpoint, and again by the sweeper for stuck commands.
    const commandWorker = new sst.aws.Function('CommandWorker', {
      ...shared,
      link: [databaseUrl, ...nudging.link],
      environment: { ...shared.environment, ...nudging.environment },
      handler: 'functions/commandWorker.handler',
      timeout: '60 seconds',
    });

    // Linking the worker grants lambda:InvokeFunction on it; its name goes in
    // COMMAND_WORKER_FUNCTION for @aws-sdk/client-lambda.
    const invokesWorker = {
      ...shared,
      link: [databaseUrl, commandWorker, ...nudging.link],
      environment: { ...shared.environment, ...nudging.environment, COMMAND_WORKER_FUNCTION: commandWorker.name },
    } satisfies Omit<sst.aws.FunctionArgs, 'handler'>;

    const api = new sst.aws.ApiGatewayV2('Api');
    // One variable name at this level ({command}: the type to POST, the id to GET):
    // API Gateway refuses sibling path variables with different names.
    api.route('POST /commands/{command}', {
      ...invokesWorker,
      handler: 'functions/http/postCommand.handler',
    });
    api.route('GET /commands/{command}', {
      ...shared,
      handler: 'functions/http/getCommand.handler',
    });
    api.route('GET /accounts/{id}', {
      ...shared,
      handler: 'functions/http/getAccount.handler',
    });
    api.route('GET /accounts/{id}/statement', {
      ...shared,
      handler: 'functions/http/getAccountStatement.handler',
    });

    new sst.aws.CronV2('CommandSweeper', {
      schedule: 'rate(1 minute)',
      function: {
        ...invokesWorker,
        handler: 'functions/commandSweeper.handler',
        timeout: '55 seconds',
      },
    });

    return Promise.resolve({
      api: api.url,
      commandWorker: commandWorker.name,
      publisher: publisher.name,
      projector: projector.name,
    });
  },
});
