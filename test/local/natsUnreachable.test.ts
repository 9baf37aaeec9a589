import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankService } from '../../core/bank';
import { configureLogging, type LogFields } from '../../core/observability';
import { startDevServer, type DevServer } from '../../functions/local';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

const warnings: { message: string; fields: LogFields }[] = [];
configureLogging((level, message, fields) => {
  if (level === 'warn') warnings.push({ message, fields });
});

describe('npm run dev with a NATS_URL nothing answers on', () => {
  let database: TestDatabase;
  let dev: DevServer;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    dev = await startDevServer(bankService, { port: 0, env: { ...process.env, DATABASE_URL: database.url, NATS_URL: 'nats://publisher:secret@127.0.0.1:1', POWERTOOLS_LOG_LEVEL: 'SILENT' } });
  });
  afterAll(async () => {
    await dev.stop();
    await database.drop();
  });

  it('says so in a warning naming the server without its credentials, again after each backoff, while the events wait in the feed', async () => {
    await fetch(`${dev.url}/commands/OpenAccount`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId: 'n-1', owner: 'n', currency: 'EUR' }) });
    for (let waited = 0; waited < 15_000 && warnings.length < 2; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    const nats = warnings.filter((warning) => warning.message === 'a batch did not go out; retrying');
    expect(nats.length).toBeGreaterThanOrEqual(2);
    // Named by host and port: the address's credentials are never logged.
    expect(nats[0]?.fields).toMatchObject({ natsUrl: '127.0.0.1:1' });
    expect(JSON.stringify(warnings)).not.toContain('secret');
    // Each says when it tries again (the engine backs off, doubling to 5 s).
    expect(Number(nats[1]?.fields.retryInMs)).toBeGreaterThan(0);
  }, 30_000);
});
