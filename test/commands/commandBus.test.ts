import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../core/aggregates';
import {
  CommandValidationError,
  DEFAULT_RETRY_POLICY,
  CommandFailedBeforeError,
  IdempotencyConflictError,
  UnknownCommandTypeError,
  createCommandBus,
  type CommandBus,
  type CommandDefinition,
  type CommandRequest,
} from '../../core/commands';
import type { Db } from '../../core/db';
import { createEventStore, type AppendResult } from '../../core/eventstore';
import * as z from '../../core/schema';
import { MAX_NESTING_DEPTH } from '../../core/text';
import { accountCommands } from '../support/accountCommands';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { millisOfUuidV7, UUID_V7 } from '../support/timeOrderedIds';

const newId = () => crypto.randomUUID();

/** A hand-written command's outcome: the events one append of `type` stored. */
const outcomeOf = (appended: AppendResult, type: string) => ({
  streamId: appended.streamId,
  version: appended.nextExpectedVersion,
  events: appended.events.map((event) => ({ eventId: event.eventId, type, version: event.version, globalPosition: event.globalPosition.toString() })),
});

describeOnEachDriver('the command bus', (context) => {
  const busOn = (db: Db, onRetry?: (error: unknown) => void): CommandBus =>
    createCommandBus({
      db,
      commands: accountCommands(db, createEventStore(db)),
      // A hot aggregate needs room: every try that loses a race waits and tries again.
      retry: { ...DEFAULT_RETRY_POLICY, attempts: 100, maxDelayMs: 40 },
      ...(onRetry ? { onRetry } : {}),
    });
  const bus = () => busOn(context().db);
  const givenOpenAccount = async (balance = 0) => {
    const accountId = newId();
    await bus().execute({ type: 'OpenAccount', payload: { accountId, owner: 'ada', currency: 'EUR' } });
    if (balance > 0) await bus().execute({ type: 'Deposit', payload: { accountId, amount: balance } });
    return accountId;
  };
  const eventsOf = async (accountId: string) => (await context().store.readStream(`account-${accountId}`)).events;
  const commandRows = async (commandId: string) =>
    (await context().db.query('SELECT 1 FROM commands WHERE command_id = $1', [commandId])).rowCount;

  it('runs a command and returns its outcome; its events carry the correlation, causation and command ids', async () => {
    const accountId = newId();
    const request: CommandRequest = {
      type: 'OpenAccount',
      payload: { accountId, owner: 'ada', currency: 'EUR' },
      commandId: 'open-1-' + accountId,
      correlationId: 'request-7',
    };
    const outcome = await bus().execute(request);
    expect(outcome).toMatchObject({
      commandId: request.commandId,
      commandType: 'OpenAccount',
      streamId: `account-${accountId}`,
      version: 1,
      replayed: false,
      events: [{ type: 'AccountOpened', version: 1 }],
    });
    const [event] = await eventsOf(accountId);
    // Without a traceparent from the caller, the command starts a trace of its own.
    expect(event?.metadata).toEqual({
      correlationId: 'request-7',
      causationId: request.commandId,
      commandId: request.commandId,
      traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/) as unknown,
    });
  });

  it('creates a command id and a correlation id when the caller gives none, both time-ordered (UUIDv7)', async () => {
    const accountId = newId();
    const before = Date.now();
    const outcome = await bus().execute({ type: 'OpenAccount', payload: { accountId, owner: 'ada', currency: 'EUR' } });
    const after = Date.now();
    const [event] = await eventsOf(accountId);
    expect(event?.metadata.commandId).toBe(outcome.commandId);
    // Time-ordered ids keep the command table's key and the correlation indexes growing at their right edge.
    for (const id of [outcome.commandId, event?.metadata.correlationId ?? '']) {
      expect(id).toMatch(UUID_V7);
      expect(millisOfUuidV7(id)).toBeGreaterThanOrEqual(before);
      expect(millisOfUuidV7(id)).toBeLessThanOrEqual(after);
    }
  });

  it('refuses an unknown command type', async () => {
    await expect(bus().execute({ type: 'Teleport', payload: {} })).rejects.toMatchObject({
      constructor: UnknownCommandTypeError,
      commandType: 'Teleport',
    });
  });

  /** The fields the CommandValidationError the request gets names, sorted. */
  const invalidFieldsOf = async (request: CommandRequest) => {
    const error = await bus().execute(request).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CommandValidationError);
    return (error as CommandValidationError).issues.map((issue) => issue.path).sort();
  };

  it('lists every invalid field and writes nothing', async () => {
    const invalid = await invalidFieldsOf({ type: 'OpenAccount', payload: { accountId: 'nope', owner: '', currency: 'euro' }, commandId: '' });
    expect(invalid).toEqual([
      'accountId',
      'commandId',
      'currency',
      'owner',
    ]);
  });

  it('refuses ids and payload text PostgreSQL cannot store (NUL, lone UTF-16 surrogates), writing nothing', async () => {
    const accountId = newId();
    const invalid = await invalidFieldsOf({
      type: 'OpenAccount',
      payload: { accountId, owner: 'ada\ud800', currency: 'EUR' },
      commandId: `open-\udc00-${accountId}`,
      correlationId: 'request\u00007',
      causationId: 'event-\ud800',
      traceparent: '00-\u0000',
    });
    expect(invalid).toEqual([
      'causationId',
      'commandId',
      'correlationId',
      'owner',
      'traceparent',
    ]);
    expect(await context().store.readStream(`account-${accountId}`).catch(() => 'no stream')).toBe('no stream');
  });

  describe('a payload nested deeper than PostgreSQL stores', () => {
    let runs = 0;
    const noting = (schema: CommandDefinition['schema']): CommandDefinition => ({
      type: 'Note',
      schema,
      run: () => {
        runs += 1;
        return Promise.reject(new Error('the command ran'));
      },
    });
    /** A note of `depth` arrays one in another: with the payload, one object or array more. */
    const nestedNote = (depth: number) => {
      let note: unknown = 'leaf';
      for (let level = 0; level < depth; level++) note = [note];
      return note;
    };
    const refusal = (schema: CommandDefinition['schema'], note: unknown) =>
      createCommandBus({ db: context().db, commands: [noting(schema)] }).execute({ type: 'Note', payload: { note } }).catch((caught: unknown) => caught);

    it(`is refused as bad input before the command runs: ${MAX_NESTING_DEPTH} objects or arrays deep at most`, async () => {
      runs = 0;
      const lenient = z.object({ note: z.unknown() });
      const error = await refusal(lenient, nestedNote(MAX_NESTING_DEPTH));
      expect(error).toBeInstanceOf(CommandValidationError);
      expect((error as CommandValidationError).issues).toEqual([{ path: expect.stringMatching(/^note(\.0)+$/) as unknown, message: expect.stringContaining(`nested more than ${MAX_NESTING_DEPTH}`) as unknown }]);
      // At the limit, it is read and the command runs.
      expect(await refusal(lenient, nestedNote(MAX_NESTING_DEPTH - 1))).toEqual(new Error('the command ran'));
      expect(runs).toBe(1);
    });

    it('is refused as bad input when its schema is recursive, which would run out of stack reading it', async () => {
      runs = 0;
      const error = await refusal(z.object({ note: z.json() }), nestedNote(20_000));
      expect(error).toBeInstanceOf(CommandValidationError);
      expect((error as CommandValidationError).issues).toEqual([{ path: expect.stringMatching(/^note(\.0)+$/) as unknown, message: expect.stringContaining(`nested more than ${MAX_NESTING_DEPTH}`) as unknown }]);
      expect(runs).toBe(0);
    });

    it('is not what a RangeError its schema throws for another reason is taken for', async () => {
      const parsingDates = z.object({ at: z.pipe(z.string(), z.transform((text) => new Date(text).toISOString())) });
      const error = await createCommandBus({ db: context().db, commands: [noting(parsingDates)] }).execute({ type: 'Note', payload: { at: 'not a date' } }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RangeError);
    });
  });

  it('refuses ids with whitespace at either end or a line break, which its events would carry in NATS headers, writing nothing', async () => {
    const accountId = newId();
    const invalid = await invalidFieldsOf({
      type: 'OpenAccount',
      payload: { accountId, owner: 'ada', currency: 'EUR' },
      commandId: `open-${accountId} `,
      correlationId: '\u00a0request-7',
      causationId: 'event\n7',
    });
    expect(invalid).toEqual(['causationId', 'commandId', 'correlationId']);
    expect(await context().store.readStream(`account-${accountId}`).catch(() => 'no stream')).toBe('no stream');
  });

  it('answers a repeated command id from the stored outcome without running it again', async () => {
    const accountId = await givenOpenAccount();
    const request = { type: 'Deposit', payload: { accountId, amount: 25 }, commandId: newId() };
    const first = await bus().execute(request);
    const again = await bus().execute({ ...request, payload: { amount: 25, accountId } });
    expect(again).toEqual({ ...first, replayed: true });
    expect((await eventsOf(accountId)).map((event) => event.type)).toEqual(['AccountOpened', 'MoneyDeposited']);
  });

  it('refuses a command id reused with another payload or type, writing nothing', async () => {
    const accountId = await givenOpenAccount();
    const commandId = newId();
    await bus().execute({ type: 'Deposit', payload: { accountId, amount: 25 }, commandId });
    await expect(bus().execute({ type: 'Deposit', payload: { accountId, amount: 26 }, commandId })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    await expect(bus().execute({ type: 'Withdraw', payload: { accountId, amount: 25 }, commandId })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    expect(await eventsOf(accountId)).toHaveLength(2);
  });

  it('two identical commands racing produce one effect and the same answer', async () => {
    const accountId = await givenOpenAccount();
    const request = { type: 'Deposit', payload: { accountId, amount: 10 }, commandId: newId() };
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => bus().execute(request)));
    expect(await eventsOf(accountId)).toHaveLength(2);
    expect(new Set(outcomes.map((outcome) => outcome.events[0]?.eventId)).size).toBe(1);
    expect(outcomes.filter((outcome) => !outcome.replayed)).toHaveLength(1);
  });

  it('identical commands racing whose events take ids derived from the command id: one effect, the others replay it', async () => {
    const { db, store } = context();
    // A stable event id per command, "to make a retried append detectably the same" (docs/event-store.md).
    const eventIdOf = (commandId: string) => {
      const hex = createHash('sha256').update(commandId).digest('hex');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    };
    const writeLine: CommandDefinition<{ logId: string; line: string }> = {
      type: 'WriteLine',
      schema: z.object({ logId: z.string(), line: z.string() }),
      async run(payload, { metadata, idempotency }) {
        const appended = await store.appendToStream({
          streamId: `log-${payload.logId}`,
          streamType: 'log',
          expectedVersion: 'any',
          metadata,
          idempotency,
          events: [{ type: 'LineWritten', data: { line: payload.line }, eventId: eventIdOf(idempotency.commandId) }],
        });
        return outcomeOf(appended, 'LineWritten');
      },
    };
    const logBus = createCommandBus({ db, commands: [writeLine] });
    const logId = newId();
    const request = { type: 'WriteLine', payload: { logId, line: 'once' }, commandId: newId() };

    const outcomes = await Promise.all(Array.from({ length: 10 }, () => logBus.execute(request)));

    expect((await store.readStream(`log-${logId}`)).events.map((event) => event.eventId)).toEqual([eventIdOf(request.commandId)]);
    expect(outcomes.filter((outcome) => !outcome.replayed)).toHaveLength(1);
  });

  it('identical commands racing whose integration message takes the command id as its message id: one effect, the others replay it', async () => {
    const { db, store } = context();
    const notify: CommandDefinition<{ inboxId: string }> = {
      type: 'Notify',
      schema: z.object({ inboxId: z.string() }),
      async run(payload, { metadata, idempotency }) {
        const appended = await store.appendToStream({
          streamId: `inbox-${payload.inboxId}`,
          streamType: 'inbox',
          expectedVersion: 'any',
          metadata,
          idempotency,
          events: [{ type: 'NoticeSent', data: {} }],
          // The message id JetStream dedupes on, stable across resends of the command.
          messages: [{ messageId: idempotency.commandId, subject: 'bank.notices', orderingKey: payload.inboxId, body: {} }],
        });
        return outcomeOf(appended, 'NoticeSent');
      },
    };
    const noticeBus = createCommandBus({ db, commands: [notify] });
    const inboxId = newId();
    const request = { type: 'Notify', payload: { inboxId }, commandId: newId() };

    const outcomes = await Promise.all(Array.from({ length: 10 }, () => noticeBus.execute(request)));

    expect((await store.readStream(`inbox-${inboxId}`)).events).toHaveLength(1);
    expect(outcomes.filter((outcome) => !outcome.replayed)).toHaveLength(1);
    expect((await db.query('SELECT 1 FROM outbox WHERE message_id = $1', [request.commandId])).rowCount).toBe(1);
  });

  it('50 concurrent deposits to one account all land, with the exact final balance', async () => {
    const accountId = await givenOpenAccount();
    const db = context().connect(20);
    let retries = 0;
    const racing = busOn(db, () => {
      retries += 1;
    });
    await Promise.all(
      Array.from({ length: 50 }, (_, index) => racing.execute({ type: 'Deposit', payload: { accountId, amount: index + 1 } })),
    );
    await db.close();
    const deposits = (await eventsOf(accountId)).filter((event) => event.type === 'MoneyDeposited');
    expect(deposits).toHaveLength(50);
    expect(deposits.reduce((sum, event) => sum + (event.data as { amount: number }).amount, 0)).toBe((50 * 51) / 2);
    expect(retries).toBeGreaterThan(0);
  });

  it('does not retry a broken business rule, and records the refusal: the same id answers it again, another payload conflicts', async () => {
    const accountId = await givenOpenAccount(10);
    let retries = 0;
    const commandId = newId();
    const bus = busOn(context().db, () => {
      retries += 1;
    });
    const refused = bus.execute({ type: 'Withdraw', payload: { accountId, amount: 11 }, commandId });
    await expect(refused).rejects.toMatchObject({ constructor: DomainError, rule: 'INSUFFICIENT_FUNDS' });
    expect(retries).toBe(0);
    expect(await commandRows(commandId)).toBe(1);
    expect(await eventsOf(accountId)).toHaveLength(2);

    const again = bus.execute({ type: 'Withdraw', payload: { accountId, amount: 11 }, commandId });
    await expect(again).rejects.toMatchObject({ constructor: CommandFailedBeforeError, recordedError: { rule: 'INSUFFICIENT_FUNDS' } });
    const reused = bus.execute({ type: 'Withdraw', payload: { accountId, amount: 1 }, commandId });
    await expect(reused).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(await eventsOf(accountId)).toHaveLength(2);
  });

  it('a command that decides nothing is recorded; the same id with another payload conflicts rather than passing', async () => {
    const accountId = await givenOpenAccount();
    const bus = busOn(context().db);
    const commandId = newId();
    await bus.execute({ type: 'CloseAccount', payload: { accountId }, commandId: newId() });
    const closedAgain = await bus.execute({ type: 'CloseAccount', payload: { accountId }, commandId });
    expect(closedAgain.events).toEqual([]);
    expect(await bus.execute({ type: 'CloseAccount', payload: { accountId }, commandId })).toMatchObject({ replayed: true, events: [] });
    const other = await givenOpenAccount();
    await expect(bus.execute({ type: 'CloseAccount', payload: { accountId: other }, commandId })).rejects.toBeInstanceOf(IdempotencyConflictError);
  });

  it('retries after the server terminates the connection mid-command', async () => {
    const accountId = await givenOpenAccount();
    const db = context().connect(2);
    let terminated = false;
    // The first append's connection is killed by the server, a real "terminating connection" error.
    const flaky: Db = {
      ...db,
      query: async (text, params, options) => {
        if (!terminated && text.includes('INSERT INTO events')) {
          terminated = true;
          await db.query('SELECT pg_terminate_backend(pg_backend_pid())');
        }
        return db.query(text, params, options);
      },
    };
    const failures: unknown[] = [];
    const outcome = await busOn(flaky, (error) => failures.push(error)).execute({
      type: 'Deposit',
      payload: { accountId, amount: 5 },
    });
    await db.close();
    expect(terminated).toBe(true);
    expect(failures).toHaveLength(1);
    expect(outcome.version).toBe(2);
    expect(await eventsOf(accountId)).toHaveLength(2);
  });

  it('records the outcome of a command that decided nothing, and replays it', async () => {
    const accountId = await givenOpenAccount();
    await bus().execute({ type: 'CloseAccount', payload: { accountId } });
    const request = { type: 'CloseAccount', payload: { accountId }, commandId: newId() };
    const first = await bus().execute(request);
    expect(first).toMatchObject({ version: 2, events: [], replayed: false });
    expect(await bus().execute(request)).toEqual({ ...first, replayed: true });
  });
});
