// sst.config.ts derives the deployment from the service it runs: here the
// to-do example service stands in for functions/service.ts, with each setting
// a team may choose (access, driver, migrations of its own, no projections).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { defineService, type Service } from '../../core/service';
import { todoService } from '../examples/todo/todoService';
import { applyFunctionTransform, environmentOf, handlerOf, installGlobals, linksOf, loadConfig, Ref, removeGlobals, runConfig } from './sstStubs';

const deployment = vi.hoisted((): { service: unknown } => ({ service: undefined }));
vi.mock('../../functions/service', () => ({
  get service() {
    return deployment.service;
  },
}));

async function deploy(service: Service) {
  deployment.service = service;
  return runConfig(await loadConfig(), { dev: false });
}

beforeAll(installGlobals);
afterAll(removeGlobals);

describe("sst.config.ts, from a service's settings", () => {
  it('a JWT service: one authorizer with its issuer and audiences, and every route requires it (with the scopes given)', async () => {
    const { recorded } = await deploy(
      defineService({ ...todoService, access: { kind: 'jwt', issuer: 'https://id.example.com/', audiences: ['todo-api'], scopes: ['todo:write'] } }),
    );
    expect(recorded.authorizers).toEqual([{ name: 'Jwt', jwt: { issuer: 'https://id.example.com/', audiences: ['todo-api'] } }]);
    expect(recorded.routes.map(({ route }) => route)).toEqual([
      'POST /commands/{command}',
      'GET /commands/{command}',
      'GET /lists/{id}/open',
      'GET /browser',
      'GET /browser/{proxy+}',
      'POST /browser/{proxy+}',
    ]);
    for (const { route, args } of recorded.routes) {
      // The browser's page holds no data: it is open, and its API calls carry the token.
      const expected = route === 'GET /browser' ? {} : { auth: { jwt: { authorizer: new Ref('Api.authorizer.Jwt.id'), scopes: ['todo:write'] } } };
      expect(args, route).toEqual(expected);
    }
  });

  it('a service that opens its routes on purpose gets no auth on them', async () => {
    const { recorded } = await deploy(defineService({ ...todoService, access: { kind: 'public' } }));
    expect(recorded.routes.map(({ args }) => args)).toEqual(recorded.routes.map(() => ({})));
    expect(recorded.authorizers).toEqual([]);
  });

  it('the Neon driver: DB_DRIVER=neon, its pool size, and the Neon driver kept in the bundle', async () => {
    const { recorded } = await deploy(defineService({ ...todoService, database: { driver: 'neon', poolMax: 1 } }));
    for (const fn of recorded.functions) {
      expect(environmentOf(fn), fn.declaredBy).toMatchObject({ DB_DRIVER: 'neon', DB_POOL_MAX: '1' });
      expect(fn.args.nodejs, fn.declaredBy).toMatchObject({ esbuild: { external: ['@aws-sdk/*', '@electric-sql/pglite'] } });
    }
  });

  it('an X-Ray service: active tracing on every function, the Migrator included, the right to send segments, and the tracer enabled in each', async () => {
    const { recorded } = await deploy(defineService({ ...todoService, xray: true }));
    expect(recorded.functions.map(handlerOf)).toContain('functions/migrator.handler');
    for (const fn of recorded.functions) {
      expect(environmentOf(fn).POWERTOOLS_TRACE_ENABLED, fn.declaredBy).toBe('true');
      expect(fn.args.permissions, fn.declaredBy).toEqual([{ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }]);
      expect(applyFunctionTransform(fn)?.args, fn.declaredBy).toEqual({ tracingConfig: { mode: 'Active' } });
    }
  });

  it("the service's own migrations are copied into every bundle and named to its functions", async () => {
    const { recorded } = await deploy(todoService);
    for (const fn of recorded.functions) {
      expect(fn.args.copyFiles, fn.declaredBy).toEqual([
        { from: 'migrations', to: 'migrations' },
        { from: 'test/examples/todo/migrations', to: 'service-migrations' },
      ]);
      expect(environmentOf(fn).SERVICE_MIGRATIONS_DIRECTORY, fn.declaredBy).toBe('/var/task/service-migrations');
      expect(environmentOf(fn).POWERTOOLS_SERVICE_NAME, fn.declaredBy).toBe('todo');
    }
  });

  it('a service without projections gets no projector: no function, no schedule, nothing to nudge but the publisher', async () => {
    const { recorded, outputs } = await deploy(defineService({ ...todoService, projections: [] }));
    expect(recorded.functions.map(handlerOf)).not.toContain('functions/projector.handler');
    expect(recorded.crons.map(({ name }) => name)).toEqual(['PublisherSchedule', 'CommandSweeper']);
    const worker = recorded.workers.get('CommandWorker');
    expect(worker && environmentOf(worker.declared).NUDGE_FUNCTIONS).toEqual(new Ref('Publisher.name'));
    expect(worker && linksOf(worker.declared)).toEqual([recorded.secrets[0], recorded.workers.get('Publisher')]);
    expect(outputs).not.toHaveProperty('projector');
  });
});
