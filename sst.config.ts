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

    // Runs one stored command; invoked asynchronously (InvocationType 'Event')
    // by the command endpoint, and again by the sweeper for stuck commands.
    const commandWorker = new sst.aws.Function('CommandWorker', {
      ...shared,
      handler: 'functions/commandWorker.handler',
      timeout: '60 seconds',
    });

    // Linking the worker grants lambda:InvokeFunction on it; its name goes in
    // COMMAND_WORKER_FUNCTION for @aws-sdk/client-lambda.
    const invokesWorker = {
      ...shared,
      link: [databaseUrl, commandWorker],
      environment: { ...shared.environment, COMMAND_WORKER_FUNCTION: commandWorker.name },
    } satisfies Omit<sst.aws.FunctionArgs, 'handler'>;

    const api = new sst.aws.ApiGatewayV2('Api');
    api.route('POST /commands/{type}', {
      ...invokesWorker,
      handler: 'functions/http/postCommand.handler',
    });
    api.route('GET /commands/{id}', {
      ...shared,
      handler: 'functions/http/getCommand.handler',
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
    });
  },
});
