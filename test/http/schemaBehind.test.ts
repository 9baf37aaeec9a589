import { describe, expect, it } from 'vitest';
import { bankService } from '../../core/bank';
import { createPgDb } from '../../core/db';
import { migrateService } from '../../core/service';
import { handler as queryFunction } from '../../functions/http/query';
import { apiGatewayEvent, lambdaContext, parseResponse } from '../support/apiGatewayEvent';
import { postCommandRequest } from '../support/commandHttp';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';

// Deployed functions never migrate: the Migrator does, before the new code takes traffic.
const database = useAppOnTestDatabase({ migrated: false });

const tables = async (url: string) => {
  const db = createPgDb({ connectionString: url, max: 1 });
  try {
    return (await db.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")).rows;
  } finally {
    await db.close();
  }
};

describe('a function whose database is behind its code', () => {
  it('answers 503 SCHEMA_NOT_CURRENT and writes nothing; once migrated, the next request runs', async () => {
    const open = { accountId: crypto.randomUUID(), owner: 'ada', currency: 'EUR' };
    expect(await postCommandRequest('OpenAccount', open)).toMatchObject({ statusCode: 503, body: { code: 'SCHEMA_NOT_CURRENT' } });
    const read = apiGatewayEvent({ method: 'GET', route: '/accounts/{id}', path: '/accounts/x', pathParameters: { id: 'x' } });
    expect(parseResponse(await queryFunction(read, lambdaContext()))).toMatchObject({ statusCode: 503 });
    expect(await tables(database().url)).toEqual([]);

    const db = createPgDb({ connectionString: database().url, max: 1 });
    await migrateService(db, bankService).finally(() => db.close());
    expect(await postCommandRequest('OpenAccount', open)).toMatchObject({ statusCode: 200, body: { version: 1 } });
  });
});
