import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunction } from '../../scripts/buildFunctions';
import { apiGatewayEvent } from '../support/apiGatewayEvent';
import { postCommandEvent } from '../support/commandHttp';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const INVOKE = path.join(root, 'test/support/invokeBundle.mjs');

/** The functions as SST bundles them (npm run build:functions), run in fresh Node processes against PostgreSQL. */
describe('the function bundles', () => {
  let database: TestDatabase;
  let directory: string;
  const bundles: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    directory = await mkdtemp(path.join(tmpdir(), 'es-bundles-'));
    for (const name of ['migrator', 'http/postCommand', 'http/query']) {
      bundles[name] = (await bundleFunction(root, `functions/${name}.ts`, path.join(directory, `${name}.mjs`))).file;
    }
  }, 60_000);
  afterAll(async () => {
    await database.drop();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  /** Invokes a bundle's handler as Lambda would, with the settings a deployment gives it; migrations are where SST copies them. */
  const invoke = async (name: string, event: unknown) => {
    const env = {
      PATH: process.env.PATH,
      DATABASE_URL: database.url,
      DB_POOL_MAX: '1',
      MIGRATIONS_DIRECTORY: path.join(root, 'migrations'),
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    };
    const { stdout } = await run(process.execPath, [INVOKE, bundles[name] ?? '', JSON.stringify(event)], { env, cwd: directory });
    return JSON.parse(stdout.slice(stdout.lastIndexOf('\n') + 1)) as { statusCode?: number; body?: string } | null;
  };
  const openAccount = (accountId: string) => postCommandEvent('OpenAccount', { accountId, owner: 'ada', currency: 'EUR' });

  it('before the Migrator runs, a command bundle answers 503 SCHEMA_NOT_CURRENT; the Migrator bundle migrates; then it answers 200', async () => {
    const accountId = crypto.randomUUID();
    const refused = await invoke('http/postCommand', openAccount(accountId));
    expect(refused?.statusCode).toBe(503);
    expect(JSON.parse(refused?.body ?? '{}')).toMatchObject({ code: 'SCHEMA_NOT_CURRENT' });

    await invoke('migrator', { migrate: true });
    const accepted = await invoke('http/postCommand', openAccount(accountId));
    expect(accepted?.statusCode).toBe(200);
    expect(JSON.parse(accepted?.body ?? '{}')).toMatchObject({ streamId: `account-${accountId}`, version: 1 });
  }, 60_000);

  it("an invalid command is refused with zod's English messages, as it is unbundled", async () => {
    await invoke('migrator', { migrate: true });
    const refused = await invoke('http/postCommand', postCommandEvent('OpenAccount', { accountId: crypto.randomUUID(), owner: 42, currency: 'EUR' }));
    expect(refused?.statusCode).toBe(400);
    expect(JSON.parse(refused?.body ?? '{}')).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { issues: [{ path: 'owner', message: 'Invalid input: expected string, received number' }] },
    });
  }, 60_000);

  it('the query bundle serves the routes of the service', async () => {
    const read = await invoke('http/query', apiGatewayEvent({ method: 'GET', route: '/accounts/{id}', path: '/accounts/nobody', pathParameters: { id: 'nobody' } }));
    expect(read?.statusCode).toBe(404);
    expect(JSON.parse(read?.body ?? '{}')).toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
  }, 60_000);
});
