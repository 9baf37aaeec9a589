import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepository, defineAggregate } from '../../../core/aggregates';
import { commandsFor, createAsyncCommands, createCommandBus, createInProcessDispatcher, type InProcessDispatcher } from '../../../core/commands';
import { createPgDb, type Db } from '../../../core/db';
import { createEventStore, type IntegrationMessage } from '../../../core/eventstore';
import * as z from '../../../core/schema';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';
import { newId } from './asyncHarness';

let database: TestDatabase;
let db: Db;
beforeAll(async () => {
  database = await createTestDatabase();
  db = createPgDb({ connectionString: database.url, max: 4 });
});
afterAll(async () => {
  await db.close();
  await database.drop();
});

type Posted = { type: 'NoticePosted'; data: Record<string, never> };
type Post = { type: 'PostNotice'; data: Record<string, never> };
const board = defineAggregate<{ notices: number }, Posted, Post>({
  streamType: 'board',
  initialState: () => ({ notices: 0 }),
  evolve: { NoticePosted: (state) => ({ notices: state.notices + 1 }) },
  decide: { PostNotice: () => ({ type: 'NoticePosted', data: {} }) },
});

/** A bus whose PostNotice writes the integration messages `messagesOf` makes of its board id. */
function busWith(messagesOf: (boardId: string) => unknown) {
  return createCommandBus({
    db,
    commands: [
      commandsFor(createRepository(db, createEventStore(db), board)).define({
        type: 'PostNotice',
        schema: z.object({ boardId: z.string() }),
        aggregateId: (payload) => payload.boardId,
        toCommand: () => ({ type: 'PostNotice', data: {} }),
        messages: (payload) => messagesOf(payload.boardId) as readonly IntegrationMessage[],
      }),
    ],
  });
}

const rowsOf = async (boardId: string) => ({
  events: (await db.query('SELECT 1 FROM events WHERE stream_id = $1', [`board-${boardId}`])).rowCount,
  messages: (await db.query('SELECT 1 FROM outbox WHERE ordering_key = $1', [boardId])).rowCount,
});

describe('a command whose integration message the store refuses', () => {
  it('given a reserved header, when sent and run by the worker, then it ends failed with VALIDATION_FAILED after one run, as execute refuses it, and writes nothing', async () => {
    const reserved = (boardId: string) => [{ subject: 'notices.posted', orderingKey: boardId, body: {}, headers: { 'Nats-Rollup': 'all' } }];
    const bus = busWith(reserved);
    await expect(bus.execute({ type: 'PostNotice', payload: { boardId: 'sync' } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });

    let worker: InProcessDispatcher | undefined;
    const commands = createAsyncCommands({ db, bus, dispatcher: (run) => (worker = createInProcessDispatcher(run)) });
    const commandId = newId();
    await commands.send({ type: 'PostNotice', payload: { boardId: 'sent' }, commandId });
    await worker?.drain();

    const status = await commands.getCommandStatus(commandId);
    expect(status).toMatchObject({ status: 'failed', error: { code: 'VALIDATION_FAILED', details: { issues: [{ path: 'messages.0.headers.Nats-Rollup' }] } } });
    expect(await rowsOf('sent')).toEqual({ events: 0, messages: 0 });
  });

  it('given a header name the refusal quotes, holding a lone surrogate (a label cut short), when sent, then the verdict is recorded all the same: failed with VALIDATION_FAILED', async () => {
    const cutLabel = (boardId: string) => [{ subject: 'notices.posted', orderingKey: boardId, body: {}, headers: { [`X-Label-${'ab😀'.slice(0, 3)}`]: '1' } }];
    let worker: InProcessDispatcher | undefined;
    const errors: unknown[] = [];
    const commands = createAsyncCommands({ db, bus: busWith(cutLabel), dispatcher: (run) => (worker = createInProcessDispatcher(run, { onError: (error) => errors.push(error) })) });
    const commandId = newId();
    await commands.send({ type: 'PostNotice', payload: { boardId: 'cut-label' }, commandId });
    await worker?.drain();

    expect(errors).toEqual([]);
    expect(await commands.getCommandStatus(commandId)).toMatchObject({ status: 'failed', error: { code: 'VALIDATION_FAILED', details: { issues: expect.arrayContaining([expect.objectContaining({ path: 'messages.0.headers.X-Label-ab\ufffd' })]) as unknown } } });
    expect(await rowsOf('cut-label')).toEqual({ events: 0, messages: 0 });
  });

  it.each([
    ['one message, not in a list', (boardId: string) => ({ subject: 'notices.posted', orderingKey: boardId, body: {} })],
    ['null', () => null],
    ['undefined (a JavaScript function whose braces forgot its return)', () => undefined],
  ])('given messages that are not a list, %s, then the command is refused with VALIDATION_FAILED, not run with its messages dropped', async (_, messagesOf) => {
    const boardId = `not-a-list-${newId()}`;
    await expect(busWith(messagesOf).execute({ type: 'PostNotice', payload: { boardId } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await rowsOf(boardId)).toEqual({ events: 0, messages: 0 });
  });
});
