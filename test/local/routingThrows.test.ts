import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankService } from '../../core/bank';
import { configureLogging, type LogFields } from '../../core/observability';
import { startDevServer, type DevServer } from '../../functions/local';
import { connectNats, deleteJetStream } from '../support/natsTesting';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

const warnings: { message: string; fields: LogFields }[] = [];
configureLogging((level, message, fields) => {
  if (level === 'warn') warnings.push({ message, fields });
});

// A deployment's routing with a bug in it: every event it is asked about throws.
const brokenRouting = {
  ...bankService,
  publishing: {
    ...bankService.publishing,
    routing: {
      subjectFor: (): string => {
        throw new Error('routing bug');
      },
    },
  },
};

describe('npm run dev with NATS up and routing code that throws', () => {
  const suffix = randomUUID().slice(0, 8);
  const stream = `ROUTING_THROWS_${suffix}`;
  let database: TestDatabase;
  let dev: DevServer;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    const env = { ...process.env, DATABASE_URL: database.url, NATS_URL: 'nats://127.0.0.1:4222', PUBLISH_STREAM: stream, PUBLISH_SUBJECT_PREFIX: `routing_${suffix}`, POWERTOOLS_LOG_LEVEL: 'SILENT' };
    dev = await startDevServer(brokenRouting, { port: 0, env });
  });
  afterAll(async () => {
    await dev.stop();
    await database.drop();
    const nc = await connectNats();
    await deleteJetStream(nc, stream);
    await nc.close();
  });

  it('says in its warnings that a batch did not go out, with the routing error, and does not blame NATS', async () => {
    await fetch(`${dev.url}/commands/OpenAccount`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId: 'r-1', owner: 'r', currency: 'EUR' }) });
    for (let waited = 0; waited < 15_000 && warnings.length < 2; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));

    expect(warnings.length).toBeGreaterThanOrEqual(2);
    expect(warnings[0]).toMatchObject({ message: 'a batch did not go out; retrying', fields: { error: expect.stringContaining('routing bug') as unknown } });
    expect(warnings.filter((warning) => warning.message.includes('NATS'))).toEqual([]);
  }, 30_000);
});
