// Evaluates sst.config.ts, with the service this deployment runs, against
// recording stand-ins for SST's globals (see sstStubs.ts).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceRoutes } from '../../core/service';
import { service } from '../../functions/service';
import { checkExportedFunctions, HANDLER_EXTENSIONS, type HandlerExport } from './handlerExports';
import {
  applyFunctionTransform,
  environmentOf,
  functionWithHandler,
  handlerOf,
  installGlobals,
  linksOf,
  loadConfig,
  Ref,
  removeGlobals,
  root,
  runConfig,
} from './sstStubs';

let config: SstConfig;

beforeAll(async () => {
  installGlobals();
  config = await loadConfig();
});

afterAll(removeGlobals);

const deploy = () => runConfig(config, { dev: false });

describe('sst.config.ts', () => {
  it('names the app and keeps production resources', async () => {
    expect(await config.app({ stage: 'dev' })).toMatchObject({ name: 'serverless-event-sourcing', home: 'aws', removal: 'remove' });
    expect(await config.app({ stage: 'production' })).toMatchObject({ removal: 'retain', protect: true });
  });

  it("declares the service's routes, each on its generic handler, as the dev server serves them", async () => {
    const { recorded } = await deploy();
    const handlerFor = { command: 'postCommand', 'command-status': 'getCommand', query: 'query', browser: 'browser' } as const;
    expect(recorded.routes.map(({ route, fn }) => [route, handlerOf(fn)])).toEqual(
      serviceRoutes(service).map((route) => [`${route.method} ${route.path}`, `functions/http/${handlerFor[route.kind]}.handler`]),
    );
    expect(recorded.routes.map(({ route }) => route)).toEqual(
      expect.arrayContaining(['POST /commands/{command}', 'GET /commands/{command}', ...(service.queries ?? []).map((query) => `GET ${query.path}`)]),
    );
  });

  it("puts the service's access on every route but the browser's page (IAM unless the service says otherwise)", async () => {
    const { recorded } = await deploy();
    expect(service.access).toEqual({ kind: 'iam' });
    expect(recorded.routes.map(({ route, args }) => [route, args])).toEqual(
      recorded.routes.map(({ route }) => [route, route === 'GET /browser' ? {} : { auth: { iam: true } }]),
    );
    expect(recorded.authorizers).toEqual([]);
  });

  it('schedules the publisher, the projector, the saga processor and sweeper, and the command sweeper; declares the worker and the migrator', async () => {
    const { recorded, outputs } = await deploy();
    expect(recorded.crons.map(({ args, fn }) => [args.schedule, handlerOf(fn)])).toEqual([
      ['rate(1 minute)', 'functions/publisher.handler'],
      ['rate(1 minute)', 'functions/projector.handler'],
      ['rate(1 minute)', 'functions/sagaProcessor.handler'],
      ['rate(1 minute)', 'functions/sagaSweeper.handler'],
      ['rate(1 minute)', 'functions/commandSweeper.handler'],
    ]);
    expect([...recorded.workers.values()].map((worker) => handlerOf(worker.declared))).toEqual([
      'functions/migrator.handler',
      'functions/publisher.handler',
      'functions/projector.handler',
      'functions/sagaSweeper.handler',
      'functions/sagaProcessor.handler',
      'functions/commandWorker.handler',
    ]);
    expect(outputs).toEqual({
      service: service.name,
      api: new Ref('Api.url'),
      migrator: new Ref('Migrator.name'),
      commandWorker: new Ref('CommandWorker.name'),
      publisher: new Ref('Publisher.name'),
      projector: new Ref('Projector.name'),
      sagaProcessor: new Ref('SagaProcessor.name'),
      sagaSweeper: new Ref('SagaSweeper.name'),
    });
  });

  it('migrates at deploy time: the Migrator is invoked on every deploy, and every other function waits for it', async () => {
    const first = await deploy();
    const anyString: unknown = expect.any(String);
    expect(first.recorded.invocations).toEqual([
      { name: 'Migrate', args: { functionName: new Ref('Migrator.name'), input: anyString, triggers: { deployedAt: anyString } } },
    ]);
    for (const fn of first.recorded.functions) {
      const transformed = applyFunctionTransform(fn);
      if (handlerOf(fn) === 'functions/migrator.handler') {
        expect(transformed, fn.declaredBy).toBeUndefined();
        continue;
      }
      expect(transformed?.opts.dependsOn, fn.declaredBy).toEqual([expect.objectContaining({ name: 'Migrate' })]);
    }
  });

  it('runs every function on nodejs22.x, with the service name, its database driver and a small pool', async () => {
    const { recorded } = await deploy();
    for (const fn of recorded.functions) {
      expect(fn.args.runtime, fn.declaredBy).toBe('nodejs22.x');
      expect(environmentOf(fn), fn.declaredBy).toMatchObject({ POWERTOOLS_SERVICE_NAME: service.name, DB_DRIVER: 'pg', DB_POOL_MAX: '2' });
    }
  });

  it('bounds how long every function waits for the database, and leaves the Migrator\'s statements unbounded', async () => {
    const { recorded } = await deploy();
    for (const fn of recorded.functions) {
      const migrator = handlerOf(fn) === 'functions/migrator.handler';
      expect(environmentOf(fn), fn.declaredBy).toMatchObject({ DB_CONNECT_TIMEOUT_MS: '5000', DB_QUERY_TIMEOUT_MS: migrator ? '0' : '10000' });
    }
    expect(recorded.functions.map(handlerOf)).toContain('functions/migrator.handler');
  });

  it('leaves X-Ray off, as the service does not ask for it: no active tracing, and the tracer not loaded', async () => {
    expect(service.xray).toBe(false);
    const { recorded } = await deploy();
    for (const fn of recorded.functions) {
      expect(environmentOf(fn).POWERTOOLS_TRACE_ENABLED, fn.declaredBy).toBe('false');
      expect(fn.args.permissions, fn.declaredBy).toBeUndefined();
      expect(applyFunctionTransform(fn)?.args ?? {}, fn.declaredBy).not.toHaveProperty('tracingConfig');
    }
  });

  it('bundles every function without the AWS SDK (the runtime has it) or the drivers the service does not use', async () => {
    const { recorded } = await deploy();
    for (const fn of recorded.functions) {
      expect(fn.args.nodejs, fn.declaredBy).toEqual({
        esbuild: { external: ['@aws-sdk/*', '@electric-sql/pglite', '@neondatabase/serverless', 'ws'] },
        plugins: 'functions/esbuildPlugins.mjs',
      });
    }
    expect(existsSync(path.join(root, 'functions/esbuildPlugins.mjs'))).toBe(true);
  });

  it('links the secrets, so no function gets DATABASE_URL or NATS_URL as a plain environment variable', async () => {
    const { recorded } = await deploy();
    expect(recorded.secrets.map((secret) => secret.secretName)).toEqual(['DATABASE_URL', 'NATS_URL']);
    const [databaseUrl, natsUrl] = recorded.secrets;
    for (const fn of recorded.functions) {
      expect(linksOf(fn), fn.declaredBy).toContain(databaseUrl);
      expect(linksOf(fn).includes(natsUrl), fn.declaredBy).toBe(handlerOf(fn) === 'functions/publisher.handler');
      expect(Object.keys(environmentOf(fn)), fn.declaredBy).not.toContain('DATABASE_URL');
      expect(Object.keys(environmentOf(fn)), fn.declaredBy).not.toContain('NATS_URL');
    }
  });

  it('copies migrations/ into every bundle and tells the functions where it is', async () => {
    expect(readdirSync(path.join(root, 'migrations')).filter((file) => file.endsWith('.sql'))).not.toEqual([]);
    const deployed = await deploy();
    for (const fn of deployed.recorded.functions) {
      expect(fn.args.copyFiles, fn.declaredBy).toEqual([{ from: 'migrations', to: 'migrations' }]);
      expect(environmentOf(fn).MIGRATIONS_DIRECTORY, fn.declaredBy).toBe('/var/task/migrations');
    }
    // Under `sst dev` the functions run from .sst/artifacts on this machine.
    const dev = await runConfig(config, { dev: true });
    for (const fn of dev.recorded.functions) {
      expect(environmentOf(fn).MIGRATIONS_DIRECTORY, fn.declaredBy).toBe(path.join(root, 'migrations'));
    }
  });

  it('lets the command route and the sweeper invoke the worker, by the name in COMMAND_WORKER_FUNCTION', async () => {
    const { recorded } = await deploy();
    const worker = recorded.workers.get('CommandWorker');
    expect(worker).toBeDefined();
    for (const handler of ['functions/http/postCommand.handler', 'functions/commandSweeper.handler']) {
      const fn = functionWithHandler(recorded, handler);
      expect(linksOf(fn), handler).toContain(worker); // a link grants lambda:InvokeFunction
      expect(environmentOf(fn).COMMAND_WORKER_FUNCTION, handler).toEqual(worker?.name);
    }
    for (const handler of ['functions/http/getCommand.handler', 'functions/http/query.handler', 'functions/commandWorker.handler']) {
      expect(linksOf(functionWithHandler(recorded, handler)), handler).not.toContain(worker);
    }
  });

  it('lets whatever commits events nudge the functions that read them, by the names in NUDGE_FUNCTIONS', async () => {
    const { recorded } = await deploy();
    const [publisher, projector, sagaProcessor, sagaSweeper] = ['Publisher', 'Projector', 'SagaProcessor', 'SagaSweeper'].map((name) => recorded.workers.get(name));
    const nudges = {
      'functions/http/postCommand.handler': [[publisher, projector, sagaProcessor], 'Publisher.name,Projector.name,SagaProcessor.name'],
      'functions/commandWorker.handler': [[publisher, projector, sagaProcessor], 'Publisher.name,Projector.name,SagaProcessor.name'],
      // The saga processor schedules timeouts: it wakes the sweeper too.
      'functions/sagaProcessor.handler': [[publisher, projector, sagaSweeper], 'Publisher.name,Projector.name,SagaSweeper.name'],
      'functions/sagaSweeper.handler': [[publisher, projector], 'Publisher.name,Projector.name'],
    } as const;
    for (const [handler, [targets, names]] of Object.entries(nudges)) {
      const fn = functionWithHandler(recorded, handler);
      expect(linksOf(fn), handler).toEqual(expect.arrayContaining([...targets]));
      expect(environmentOf(fn).NUDGE_FUNCTIONS, handler).toEqual(new Ref(names));
    }
  });

  it('names handlers that exist under functions/ and export the named function', async () => {
    const { recorded } = await deploy();
    const problems: string[] = [];
    const found: (HandlerExport & { named: string })[] = [];
    for (const fn of recorded.functions) {
      const handler = handlerOf(fn);
      const dot = handler.lastIndexOf('.');
      const base = handler.slice(0, dot);
      const exportName = handler.slice(dot + 1);
      const relative = path.relative(path.join(root, 'functions'), path.join(root, base));
      if (dot <= 0 || relative.startsWith('..') || path.isAbsolute(relative)) {
        problems.push(`${handler} (${fn.declaredBy}): not a path under functions/ followed by .exportName`);
        continue;
      }
      const file = HANDLER_EXTENSIONS.map((extension) => path.join(root, base + extension)).find((candidate) => existsSync(candidate));
      if (file) found.push({ file, name: exportName, named: `${handler} (${fn.declaredBy}): ${path.relative(root, file)}` });
      else problems.push(`${handler} (${fn.declaredBy}): missing, no ${base}.{ts,js,...}`);
    }
    checkExportedFunctions(found).forEach((problem, index) => {
      if (problem) problems.push(`${found[index]?.named ?? ''} ${problem}`);
    });
    expect(problems).toEqual([]);
  });
});
