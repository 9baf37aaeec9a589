import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postCommandHandler } from '../../functions/http/commandHandlers';
import { queryHandler } from '../../functions/http/queryHandler';
import { startDevServer, type DevServer } from '../../functions/local';
import { runtimeLoader } from '../../functions/runtime';
import { apiGatewayEvent, parseResponse } from '../support/apiGatewayEvent';
import { postCommandEvent } from '../support/commandHttp';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import { todoService } from './todo/todoService';

/** A second service, nothing like the bank, through the same dev server and the same generic handlers. */
describe('the to-do service (test/examples/todo)', () => {
  let database: TestDatabase;
  let dev: DevServer;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    dev = await startDevServer(todoService, {
      port: 0,
      env: { ...process.env, DATABASE_URL: database.url, NATS_URL: undefined, POWERTOOLS_LOG_LEVEL: 'SILENT' },
    });
  });
  afterAll(async () => {
    await dev.stop();
    await database.drop();
  });

  const post = async (type: string, payload: unknown) => {
    const response = await fetch(`${dev.url}/commands/${type}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const openItemsOf = async (listId: string) => {
    const response = await fetch(`${dev.url}/lists/${listId}/open`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** The projector loop is woken by each commit; poll rather than guess how long it takes on a loaded runner. */
  const eventually = async <T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> => {
    let value = await read();
    for (let attempt = 0; attempt < 200 && !done(value); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      value = await read();
    }
    return value;
  };

  it('applies its own migrations, tracked apart: a file named like a framework file is applied too', async () => {
    const { rows: framework } = await dev.runtime.db.query<{ name: string }>("SELECT name FROM schema_migrations WHERE name = '0001_event_store.sql'");
    const { rows: own } = await dev.runtime.db.query<{ service: string; name: string }>('SELECT service, name FROM service_migrations');
    expect(framework).toEqual([{ name: '0001_event_store.sql' }]);
    expect(own).toEqual([{ service: 'todo', name: '0001_event_store.sql' }]);
    const { rows: priorities } = await dev.runtime.db.query<{ name: string }>('SELECT name FROM todo_priorities ORDER BY rank');
    expect(priorities.map((row) => row.name)).toEqual(['high', 'normal', 'low']);
  });

  it('given a list with three items, when one is completed, then its query shows the other two, most pressing first', async () => {
    expect(await post('CreateList', { listId: 'groceries', title: 'Groceries' })).toMatchObject({ status: 200, body: { version: 1 } });
    await post('AddItem', { listId: 'groceries', itemId: 'milk', text: 'Milk', priority: 'low' });
    await post('AddItem', { listId: 'groceries', itemId: 'bread', text: 'Bread' });
    await post('AddItem', { listId: 'groceries', itemId: 'eggs', text: 'Eggs', priority: 'high' });
    expect(await post('CompleteItem', { listId: 'groceries', itemId: 'bread' })).toMatchObject({ status: 200, body: { version: 5 } });

    const expected = {
      listId: 'groceries',
      open: [
        { itemId: 'eggs', text: 'Eggs', priority: 'high' },
        { itemId: 'milk', text: 'Milk', priority: 'low' },
      ],
    };
    const open = await eventually(() => openItemsOf('groceries'), (answer) => JSON.stringify(answer.body) === JSON.stringify(expected));
    expect(open).toEqual({ status: 200, body: expected });
    expect(await openItemsOf('nothing-here')).toMatchObject({ status: 404, body: { code: 'LIST_NOT_FOUND' } });
  });

  it("refuses what its rules and schemas refuse, with the framework's statuses", async () => {
    await post('CreateList', { listId: 'chores', title: 'Chores' });
    expect(await post('CompleteItem', { listId: 'chores', itemId: 'dishes' })).toMatchObject({
      status: 422,
      body: { code: 'DOMAIN_RULE_VIOLATED', details: { rule: 'ITEM_NOT_OPEN' } },
    });
    expect(await post('AddItem', { listId: 'chores', itemId: 'Bad Id', text: '' })).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await post('OpenAccount', { accountId: 'a-1' })).toMatchObject({ status: 404, body: { code: 'UNKNOWN_COMMAND_TYPE' } });
  });

  it("runs through the generic Lambda handlers, built from its definition alone", async () => {
    const load = runtimeLoader(todoService, { env: { ...process.env, DATABASE_URL: database.url, NATS_URL: undefined } });
    try {
      const postCommand = postCommandHandler(load);
      const created = await postCommand(postCommandEvent('CreateList', { listId: 'lambda', title: 'Made by the handler' }));
      expect(parseResponse(created)).toMatchObject({ statusCode: 200, body: { streamId: 'todo-lambda', version: 1 } });
      const query = queryHandler(load);
      const read = await query(apiGatewayEvent({ method: 'GET', route: '/lists/{id}/open', path: '/lists/lambda/open', pathParameters: { id: 'lambda' } }));
      expect(parseResponse(read)).toMatchObject({ statusCode: 404, body: { code: 'LIST_NOT_FOUND' } });
    } finally {
      await (await load()).db.close();
    }
  });
});
