// Stand-ins for SST's globals ($config, sst.Secret, sst.aws.*, aws.lambda.*)
// that record what sst.config.ts declares: no AWS, no network, no `.sst/`.
// SST's own types are checked separately by `npm run check:sst`.
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';

export const root = fileURLToPath(new URL('../../', import.meta.url));

/** A deploy-time value (a Pulumi Output in SST), named after what it stands for. */
export class Ref {
  constructor(readonly ref: string) {}
  apply(): never {
    throw new Error(`the sst.config.ts test stubs cannot apply() ${this.ref}`);
  }
}

export type Args = Record<string, unknown>;

/** One Lambda function, however it was declared. */
export interface DeclaredFunction {
  declaredBy: string;
  args: Args;
}

export interface Recording {
  secrets: StubSecret[];
  functions: DeclaredFunction[];
  routes: { route: string; api: string; fn: DeclaredFunction; args: Args }[];
  authorizers: Args[];
  crons: { name: string; args: Args; fn: DeclaredFunction }[];
  invocations: { name: string; args: Args }[];
  workers: Map<string, StubFunction>;
}

let recording: Recording = newRecording();

function newRecording(): Recording {
  return { secrets: [], functions: [], routes: [], authorizers: [], crons: [], invocations: [], workers: new Map() };
}

export class StubSecret {
  readonly name: Ref;
  readonly value: Ref;
  constructor(readonly secretName: string) {
    this.name = new Ref(`${secretName}.name`);
    this.value = new Ref(`${secretName}.value`);
    recording.secrets.push(this);
  }
}

export class StubFunction {
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
  route(route: string, handler: unknown, args: Args = {}): void {
    const fn = declareFunction(`route ${route}`, handler);
    recording.routes.push({ route, api: this.componentName, fn, args });
  }
  addAuthorizer(args: Args): { id: Ref } {
    recording.authorizers.push(args);
    return { id: new Ref(`${this.componentName}.authorizer.${String(args.name)}.id`) };
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

class StubInvocation {
  constructor(
    readonly name: string,
    args: Args,
  ) {
    recording.invocations.push({ name, args });
  }
}

/** Fails loudly when the config reaches for something these stubs do not provide. */
function strict<T extends object>(label: string, target: T): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      if (typeof property === 'string' && !(property in object)) {
        throw new Error(`sst.config.ts uses ${label}.${property}, which test/sst/sstStubs.ts does not stub yet`);
      }
      return Reflect.get(object, property, receiver) as unknown;
    },
  });
}

const GLOBALS = ['$config', '$dev', '$cli', '$interpolate', 'sst', 'aws'] as const;

/** `$interpolate` over Refs: a Ref whose name is the template filled with their names. */
const interpolate = (literals: TemplateStringsArray, ...values: unknown[]): Ref =>
  new Ref(
    literals.reduce((text, literal, index) => {
      const value = values[index - 1];
      return text + (value instanceof Ref ? value.ref : String(value)) + literal;
    }),
  );

export function installGlobals(): void {
  Object.assign(globalThis, {
    $config: (config: unknown) => config,
    $dev: false,
    $cli: { paths: { root: root.replace(/\/$/, '') } },
    $interpolate: interpolate,
    sst: strict('sst', {
      Secret: StubSecret,
      aws: strict('sst.aws', { Function: StubFunction, ApiGatewayV2: StubApiGatewayV2, CronV2: StubCronV2 }),
    }),
    aws: strict('aws', { lambda: strict('aws.lambda', { Invocation: StubInvocation }) }),
  });
}

export function removeGlobals(): void {
  for (const name of GLOBALS) Reflect.deleteProperty(globalThis, name);
}

/** Loads sst.config.ts afresh, with whatever service `functions/service` gives now. */
export async function loadConfig(): Promise<SstConfig> {
  vi.resetModules();
  return (await import('../../sst.config')).default;
}

export async function runConfig(config: SstConfig, options: { dev: boolean }): Promise<{ recorded: Recording; outputs: unknown }> {
  recording = newRecording();
  Object.assign(globalThis, { $dev: options.dev });
  const outputs = await config.run();
  return { recorded: recording, outputs };
}

export function handlerOf(fn: DeclaredFunction): string {
  const { handler } = fn.args;
  if (typeof handler !== 'string') throw new Error(`${fn.declaredBy}: handler is not a plain string`);
  return handler;
}

export const environmentOf = (fn: DeclaredFunction): Args => (fn.args.environment ?? {}) as Args;

export const linksOf = (fn: DeclaredFunction): unknown[] => (fn.args.link ?? []) as unknown[];

/**
 * What a function's `transform.function` does to the Lambda function beneath
 * it: the arguments it sets and the resource options (what it waits for);
 * undefined when the function declares no transform.
 */
export function applyFunctionTransform(fn: DeclaredFunction): { args: Args; opts: { dependsOn?: unknown } } | undefined {
  const transform = (fn.args.transform as { function?: (args: Args, opts: { dependsOn?: unknown }) => void } | undefined)?.function;
  if (!transform) return undefined;
  const applied = { args: {}, opts: {} };
  transform(applied.args, applied.opts);
  return applied;
}

export function functionWithHandler(recorded: Recording, handler: string): DeclaredFunction {
  const found = recorded.functions.find((fn) => fn.args.handler === handler);
  if (!found) throw new Error(`no function with handler ${handler}`);
  return found;
}
