// The SST globals sst.config.ts uses, as the ordinary `npm run typecheck` and
// ESLint see them. SST's real declarations are generated into
// `.sst/platform/config.d.ts` by `sst install` (300 MB of platform code and
// Pulumi types); `npm run check:sst` type-checks sst.config.ts against those
// (tsconfig.sst.json, which does not include this file).
//
// Only what the config uses, written to be no looser than SST 4.17's types:
// anything accepted here that SST rejects is caught by `npm run check:sst`.
// Extend it when sst.config.ts starts using more of SST.

declare namespace sst {
  /** A value only known at deploy time (a Pulumi Output). */
  interface Output<T> {
    apply<U>(callback: (value: T) => U): Output<U>;
  }
  type Input<T> = T | Output<T> | Promise<T>;

  /** Set with `npx sst secret set NAME value --stage <stage>`. */
  class Secret {
    constructor(name: string, placeholder?: Input<string>);
    readonly name: Output<string>;
    readonly value: Output<string>;
  }

  namespace aws {
    type Runtime = 'nodejs20.x' | 'nodejs22.x' | 'nodejs24.x';
    type DurationMinutes = `${number} ${'second' | 'seconds' | 'minute' | 'minutes'}`;
    type Size = `${number} ${'MB' | 'GB'}`;
    /** Linkable resources: SST gives linked functions access and their properties. */
    type Linkable = Secret | Function;

    interface FunctionArgs {
      handler: Input<string>;
      runtime?: Input<Runtime>;
      timeout?: Input<DurationMinutes>;
      memory?: Input<Size>;
      link?: Input<Linkable[]>;
      environment?: Input<Record<string, Input<string>>>;
      copyFiles?: Input<{ from: Input<string>; to?: Input<string> }[]>;
      permissions?: Input<{ actions: string[]; resources: Input<string>[] }[]>;
      nodejs?: Input<{ esbuild?: Input<{ external?: string[] }>; plugins?: Input<string> }>;
      /** Changes to the underlying resources; here, what the Lambda function waits for, and its tracing mode. */
      transform?: { function?: (args: never, opts: { dependsOn?: unknown }) => void };
    }

    class Function {
      constructor(name: string, args: FunctionArgs);
      readonly name: Output<string>;
      readonly arn: Output<string>;
    }

    type HttpMethod = 'ANY' | 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

    interface ApiGatewayV2RouteArgs {
      auth?: Input<{ iam?: Input<boolean>; jwt?: Input<{ authorizer: Input<string>; scopes?: Input<Input<string>[]> }> }>;
    }

    class ApiGatewayV2Authorizer {
      readonly id: Output<string>;
    }

    class ApiGatewayV2 {
      constructor(name: string, args?: { link?: Input<Linkable[]> });
      readonly url: Output<string>;
      route(rawRoute: `${HttpMethod} /${string}` | '$default', handler: Input<string | FunctionArgs>, args?: ApiGatewayV2RouteArgs): void;
      addAuthorizer(args: { name: string; jwt?: Input<{ issuer: Input<string>; audiences: Input<Input<string>[]> }> }): ApiGatewayV2Authorizer;
    }

    interface CronV2Args {
      schedule: Input<`rate(${string})` | `cron(${string})` | `at(${string})`>;
      function: Input<string | FunctionArgs | Function>;
      enabled?: Input<boolean>;
      timezone?: Input<string>;
    }

    class CronV2 {
      constructor(name: string, args: CronV2Args);
      /** The underlying EventBridge Scheduler schedule and IAM role. */
      readonly nodes: { readonly schedule: unknown; readonly role: unknown };
    }
  }
}

/** The Pulumi AWS provider's resources, as SST exposes them. */
declare namespace aws {
  namespace lambda {
    /** Invokes a function once when created, and again whenever a trigger changes. */
    class Invocation {
      constructor(name: string, args: { functionName: sst.Input<string>; input: sst.Input<string>; triggers?: Record<string, sst.Input<string>> });
      readonly result: sst.Output<string>;
    }
  }
}

interface SstApp {
  name: string;
  home: 'aws';
  removal?: 'remove' | 'retain' | 'retain-all';
  protect?: boolean;
}

interface SstConfig {
  app(input: { stage: string }): SstApp | Promise<SstApp>;
  run(): Promise<Record<string, unknown> | undefined>;
}

declare const $config: (input: SstConfig) => SstConfig;
/** True under `sst dev`, where functions run on the developer's machine. */
declare const $dev: boolean;
declare const $cli: { paths: { root: string } };
/** A template string over deploy-time values, itself a deploy-time value. */
declare const $interpolate: (literals: TemplateStringsArray, ...values: unknown[]) => sst.Output<string>;
