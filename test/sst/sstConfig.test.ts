// Evaluates sst.config.ts with stand-ins for SST's globals ($config, sst.Secret,
// sst.aws.*) that record what the app declares: no AWS, no network, no `.sst/`.
// SST's own types are checked separately by `npm run check:sst`.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The extensions SST's Node runtime tries, in its order, for `dir/file.export`. */
const HANDLER_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];

/** A deploy-time value (a Pulumi Output in SST), named after what it stands for. */
class Ref {
  constructor(readonly ref: string) {}
  apply(): never {
    throw new Error(`the sst.config.ts test stubs cannot apply() ${this.ref}`);
  }
}

type Args = Record<string, unknown>;

/** One Lambda function, however it was declared. */
interface DeclaredFunction {
  declaredBy: string;
  args: Args;
}

interface Recording {
  secrets: StubSecret[];
  functions: DeclaredFunction[];
  routes: { route: string; api: string; fn: DeclaredFunction }[];
  crons: { name: string; args: Args; fn: DeclaredFunction }[];
  workers: Map<string, StubFunction>;
}

let recording: Recording = newRecording();

function newRecording(): Recording {
  return { secrets: [], functions: [], routes: [], crons: [], workers: new Map() };
}

class StubSecret {
  readonly name: Ref;
  readonly value: Ref;
  constructor(readonly secretName: string) {
    this.name = new Ref(`${secretName}.name`);
    this.value = new Ref(`${secretName}.value`);
    recording.secrets.push(this);
  }
}

class StubFunction {
  readonly name: Ref;
  readonly arn: Ref;
  readonly declared: DeclaredFunction;
  constructor(
    readonly componentName: string,
    args: Args,
  ) {
    this.name = new Ref(`${componentName}.name`);
    this.arn = new Ref(`${componentName}.arn`);
    this.declared = declareFunction(`sst.aws.Function ${componentName}`, args);
    recording.workers.set(componentName, this);
  }
}

/** What SST accepts where a function is expected: a handler path, function args, or a Function. */
function declareFunction(declaredBy: string, input: unknown): DeclaredFunction {
  if (input instanceof StubFunction) return input.declared;
  const args: Args = typeof input === 'string' ? { handler: input } : (input as Args);
  const declared = { declaredBy, args };
  recording.functions.push(declared);
  return declared;
}

class StubApiGatewayV2 {
  readonly url: Ref;
  constructor(readonly componentName: string) {
    this.url = new Ref(`${componentName}.url`);
  }
  route(route: string, handler: unknown, args?: unknown): void {
    if (args !== undefined) throw new Error(`route options for ${route} are not recorded by the test stubs yet`);
    const fn = declareFunction(`route ${route}`, handler);
    recording.routes.push({ route, api: this.componentName, fn });
  }
}

class StubCronV2 {
  readonly nodes: { schedule: Ref; role: Ref };
  constructor(name: string, args: Args) {
    this.nodes = { schedule: new Ref(`${name}.nodes.schedule`), role: new Ref(`${name}.nodes.role`) };
    if (args.job !== undefined) throw new Error(`CronV2 ${name} uses the deprecated "job"; use "function"`);
    const fn = declareFunction(`sst.aws.CronV2 ${name}`, args.function);
    recording.crons.push({ name, args, fn });
  }
}

/** Fails loudly when the config reaches for something these stubs do not provide. */
function strict<T extends object>(label: string, target: T): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      if (typeof property === 'string' && !(property in object)) {
        throw new Error(`sst.config.ts uses ${label}.${property}, which test/sst/sstConfig.test.ts does not stub yet`);
      }
      return Reflect.get(object, property, receiver) as unknown;
    },
  });
}

const GLOBALS = ['$config', '$dev', '$cli', '$interpolate', 'sst'] as const;

/** `$interpolate` over Refs: a Ref whose name is the template filled with their names. */
const interpolate = (literals: TemplateStringsArray, ...values: unknown[]): Ref =>
  new Ref(literals.reduce((text, literal, index) => {
    const value = values[index - 1];
    return text + (value instanceof Ref ? value.ref : String(value)) + literal;
  }));

function installGlobals(): void {
  Object.assign(globalThis, {
    $config: (config: unknown) => config,
    $dev: false,
    $cli: { paths: { root: root.replace(/\/$/, '') } },
    $interpolate: interpolate,
    sst: strict('sst', {
      Secret: StubSecret,
      aws: strict('sst.aws', { Function: StubFunction, ApiGatewayV2: StubApiGatewayV2, CronV2: StubCronV2 }),
    }),
  });
}

async function runConfig(options: { dev: boolean }): Promise<{ recorded: Recording; outputs: unknown }> {
  recording = newRecording();
  Object.assign(globalThis, { $dev: options.dev });
  const outputs = await config().run();
  return { recorded: recording, outputs };
}

let loaded: SstConfig | undefined;
function config(): SstConfig {
  if (!loaded) throw new Error('sst.config.ts was not loaded');
  return loaded;
}

beforeAll(async () => {
  installGlobals();
  loaded = (await import('../../sst.config')).default;
});

afterAll(() => {
  for (const name of GLOBALS) Reflect.deleteProperty(globalThis, name);
});

function handlerOf(fn: DeclaredFunction): string {
  const { handler } = fn.args;
  if (typeof handler !== 'string') throw new Error(`${fn.declaredBy}: handler is not a plain string`);
  return handler;
}

function environmentOf(fn: DeclaredFunction): Args {
  return (fn.args.environment ?? {}) as Args;
}

function linksOf(fn: DeclaredFunction): unknown[] {
  return (fn.args.link ?? []) as unknown[];
}

function functionWithHandler(recorded: Recording, handler: string): DeclaredFunction {
  const found = recorded.functions.find((fn) => fn.args.handler === handler);
  if (!found) throw new Error(`no function with handler ${handler}`);
  return found;
}

describe('sst.config.ts', () => {
  it('names the app and keeps production resources', async () => {
    expect(await config().app({ stage: 'dev' })).toMatchObject({ name: 'serverless-event-sourcing', home: 'aws', removal: 'remove' });
    expect(await config().app({ stage: 'production' })).toMatchObject({ removal: 'retain', protect: true });
  });

  it('declares the command and account routes, the worker, the sweeper, the publisher and the projector, and nothing else', async () => {
    const { recorded, outputs } = await runConfig({ dev: false });

    expect(recorded.routes.map(({ route, fn }) => [route, handlerOf(fn)])).toEqual([
      ['POST /commands/{command}', 'functions/http/postCommand.handler'],
      ['GET /commands/{command}', 'functions/http/getCommand.handler'],
      ['GET /accounts/{id}', 'functions/http/getAccount.handler'],
      ['GET /accounts/{id}/statement', 'functions/http/getAccountStatement.handler'],
    ]);
    expect(recorded.crons.map(({ args, fn }) => [args.schedule, handlerOf(fn)])).toEqual([
      ['rate(1 minute)', 'functions/publisher.handler'],
      ['rate(1 minute)', 'functions/projector.handler'],
      ['rate(1 minute)', 'functions/commandSweeper.handler'],
    ]);
    expect([...recorded.workers.values()].map((worker) => handlerOf(worker.declared))).toEqual([
      'functions/publisher.handler',
      'functions/projector.handler',
      'functions/commandWorker.handler',
    ]);
    expect(recorded.functions.map(handlerOf).sort()).toEqual([
      'functions/commandSweeper.handler',
      'functions/commandWorker.handler',
      'functions/http/getAccount.handler',
      'functions/http/getAccountStatement.handler',
      'functions/http/getCommand.handler',
      'functions/http/postCommand.handler',
      'functions/projector.handler',
      'functions/publisher.handler',
    ]);
    expect(outputs).toEqual({
      api: new Ref('Api.url'),
      commandWorker: new Ref('CommandWorker.name'),
      publisher: new Ref('Publisher.name'),
      projector: new Ref('Projector.name'),
    });
  });

  it('runs every function on nodejs22.x', async () => {
    const { recorded } = await runConfig({ dev: false });
    const runtimes = recorded.functions.map((fn) => [fn.declaredBy, fn.args.runtime]);
    expect(runtimes).toEqual(recorded.functions.map((fn) => [fn.declaredBy, 'nodejs22.x']));
  });

  it('links the DATABASE_URL secret to every function and sets it as DATABASE_URL', async () => {
    const { recorded } = await runConfig({ dev: false });
    expect(recorded.secrets.map((secret) => secret.secretName)).toEqual(['DATABASE_URL', 'NATS_URL']);
    const [secret] = recorded.secrets;
    for (const fn of recorded.functions) {
      expect(linksOf(fn), fn.declaredBy).toContain(secret);
      expect(environmentOf(fn).DATABASE_URL, fn.declaredBy).toEqual(secret?.value);
    }
  });

  it('copies migrations/ into every bundle and tells the handlers where it is', async () => {
    expect(readdirSync(path.join(root, 'migrations')).filter((file) => file.endsWith('.sql'))).not.toEqual([]);

    const deployed = await runConfig({ dev: false });
    for (const fn of deployed.recorded.functions) {
      expect(fn.args.copyFiles, fn.declaredBy).toEqual([{ from: 'migrations', to: 'migrations' }]);
      expect(environmentOf(fn).MIGRATIONS_DIRECTORY, fn.declaredBy).toBe('/var/task/migrations');
    }

    // Under `sst dev` the functions run from .sst/artifacts on this machine.
    const dev = await runConfig({ dev: true });
    for (const fn of dev.recorded.functions) {
      expect(environmentOf(fn).MIGRATIONS_DIRECTORY, fn.declaredBy).toBe(path.join(root, 'migrations'));
    }
  });

  it('lets the command endpoint and the sweeper invoke the worker, by the name in COMMAND_WORKER_FUNCTION', async () => {
    const { recorded } = await runConfig({ dev: false });
    const worker = recorded.workers.get('CommandWorker');
    expect(worker).toBeDefined();
    for (const handler of ['functions/http/postCommand.handler', 'functions/commandSweeper.handler']) {
      const fn = functionWithHandler(recorded, handler);
      expect(linksOf(fn), handler).toContain(worker); // a link grants lambda:InvokeFunction
      expect(environmentOf(fn).COMMAND_WORKER_FUNCTION, handler).toEqual(worker?.name);
    }
    for (const handler of ['functions/http/getCommand.handler', 'functions/commandWorker.handler']) {
      expect(linksOf(functionWithHandler(recorded, handler)), handler).not.toContain(worker);
    }
  });

  it('gives the NATS_URL secret to the publisher alone', async () => {
    const { recorded } = await runConfig({ dev: false });
    const nats = recorded.secrets.find((secret) => secret.secretName === 'NATS_URL');
    for (const fn of recorded.functions) {
      const isPublisher = handlerOf(fn) === 'functions/publisher.handler';
      expect(linksOf(fn).includes(nats), fn.declaredBy).toBe(isPublisher);
      expect(environmentOf(fn).NATS_URL, fn.declaredBy).toEqual(isPublisher ? nats?.value : undefined);
    }
  });

  it('lets whatever commits events nudge the publisher and the projector, by the names in NUDGE_FUNCTIONS', async () => {
    const { recorded } = await runConfig({ dev: false });
    const publisher = recorded.workers.get('Publisher');
    const projector = recorded.workers.get('Projector');
    expect(publisher).toBeDefined();
    expect(projector).toBeDefined();
    for (const handler of ['functions/http/postCommand.handler', 'functions/commandWorker.handler']) {
      const fn = functionWithHandler(recorded, handler);
      expect(linksOf(fn), handler).toContain(publisher);
      expect(linksOf(fn), handler).toContain(projector);
      expect(environmentOf(fn).NUDGE_FUNCTIONS, handler).toEqual(new Ref('Publisher.name,Projector.name'));
    }
  });

  it('names handlers that exist under functions/ and export the named function', async () => {
    const { recorded } = await runConfig({ dev: false });
    const problems: string[] = [];
    const found: { handler: string; file: string; exportName: string; declaredBy: string }[] = [];

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
      if (!file) {
        problems.push(`${handler} (${fn.declaredBy}): missing, no ${base}.{${HANDLER_EXTENSIONS.map((e) => e.slice(1)).join(',')}}`);
        continue;
      }
      found.push({ handler, file, exportName, declaredBy: fn.declaredBy });
    }

    for (const { handler, file, exportName, declaredBy } of found) {
      const problem = checkExportedFunction(file, exportName);
      if (problem) problems.push(`${handler} (${declaredBy}): ${path.relative(root, file)} ${problem}`);
    }

    if (problems.length > 0) {
      expect.fail(
        `${problems.length} of the ${recorded.functions.length} handlers named in sst.config.ts do not resolve:\n` +
          problems.map((problem) => `  - ${problem}`).join('\n'),
      );
    }
  });
});

let program: { files: string[]; checker: ts.TypeChecker; program: ts.Program } | undefined;

/**
 * Whether `file` exports `name` as something callable, as TypeScript sees it
 * (re-exports followed), without running the module. Returns the problem, if any.
 */
function checkExportedFunction(file: string, name: string): string | undefined {
  if (!program?.files.includes(file)) {
    const configFile = ts.readConfigFile(path.join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p));
    const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
    const files = [...(program?.files ?? []), file];
    const created = ts.createProgram(files, { ...options, noEmit: true });
    program = { files, program: created, checker: created.getTypeChecker() };
  }
  const { checker, program: tsProgram } = program;
  const source = tsProgram.getSourceFile(file);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!source || !moduleSymbol) return 'is not a module';
  const exported = checker.getExportsOfModule(moduleSymbol).find((symbol) => symbol.name === name);
  if (!exported) return `does not export "${name}"`;
  const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const type = checker.getTypeOfSymbolAtLocation(target, source);
  if (type.getCallSignatures().length === 0) return `exports "${name}" but it is not a function (${checker.typeToString(type)})`;
  return undefined;
}
