import { expect, it } from 'vitest';
import {
  CommandValidationError,
  IdempotencyConflictError,
  UnknownCommandTypeError,
  createAsyncCommands,
  createCommandBus,
  type CommandDefinition,
} from '../../../core/commands';
import { createEventStore } from '../../../core/eventstore';
import { accountCommands } from '../../support/accountCommands';
import { deferred } from '../../support/fixtures';
import { describeOnEachDriver } from '../../support/describeOnEachDriver';
import { asyncSpecKit, busOn, givenOpenAccount, losingSends, newId, waitForStatus } from './asyncHarness';

describeOnEachDriver('sending commands asynchronously', (context) => {
  const { inProcess, bus, typesOf } = asyncSpecKit(context);
  const rowsOf = async (commandId: string) =>
    (await context().db.query('SELECT 1 FROM commands WHERE command_id = $1', [commandId])).rowCount;

  it('stores and dispatches a command id once, however often and concurrently it is sent', async () => {
    const { commands, dispatched } = inProcess();
    const accountId = await givenOpenAccount(bus());
    const request = { type: 'Deposit', payload: { accountId, amount: 5 }, commandId: newId() };
    const answers = await Promise.all(Array.from({ length: 8 }, () => commands.send(request)));
    expect(answers.every((answer) => answer.commandId === request.commandId)).toBe(true);
    expect(dispatched()).toBe(1);
    await waitForStatus(commands, request.commandId);
    // Key order does not matter: the payload is compared by hash.
    expect(await commands.send({ ...request, payload: { amount: 5, accountId } })).toEqual({
      commandId: request.commandId,
      status: 'succeeded',
    });
    expect(dispatched()).toBe(1);
    expect(await rowsOf(request.commandId)).toBe(1);
    expect(await typesOf(accountId)).toEqual(['AccountOpened', 'MoneyDeposited']);
  });

  it('refuses a command id reused with another payload or type, also one used by execute', async () => {
    const { commands, dispatched } = inProcess();
    const accountId = await givenOpenAccount(bus());
    const commandId = newId();
    await commands.send({ type: 'Deposit', payload: { accountId, amount: 5 }, commandId });
    await expect(commands.send({ type: 'Deposit', payload: { accountId, amount: 6 }, commandId })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    await expect(commands.send({ type: 'Withdraw', payload: { accountId, amount: 5 }, commandId })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    const executedId = newId();
    await bus().execute({ type: 'Deposit', payload: { accountId, amount: 7 }, commandId: executedId });
    await expect(commands.send({ type: 'Deposit', payload: { accountId, amount: 8 }, commandId: executedId })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    expect(await commands.send({ type: 'Deposit', payload: { accountId, amount: 7 }, commandId: executedId })).toEqual({
      commandId: executedId,
      status: 'succeeded',
    });
    expect(dispatched()).toBe(1);
  });

  it('an execute and a send of the same command racing: the execute completes the record the send stored, the worker replays it', async () => {
    const { db } = context();
    const accountId = await givenOpenAccount(bus());
    const arrived = deferred();
    const gate = deferred();
    // Deposit, held after the bus looked its id up and before it appends: the send's record lands in between.
    const held = accountCommands(db, createEventStore(db)).map((definition): CommandDefinition =>
      definition.type !== 'Deposit'
        ? definition
        : {
            ...definition,
            run: async (payload, execution) => {
              arrived.resolve();
              await gate.promise;
              return definition.run(payload, execution);
            },
          },
    );
    const executing = createCommandBus({ db, commands: held });
    const sending = losingSends(db);
    const request = { type: 'Deposit', payload: { accountId, amount: 5 }, commandId: newId() };

    const executed = executing.execute(request);
    await arrived.promise;
    expect(await sending.send(request)).toEqual({ commandId: request.commandId, status: 'pending' });
    gate.resolve();

    expect(await executed).toMatchObject({ commandId: request.commandId, replayed: false, events: [{ type: 'MoneyDeposited' }] });
    expect(await sending.getCommandStatus(request.commandId)).toMatchObject({ status: 'succeeded' });
    // The worker the send dispatched finds the command done.
    expect(await sending.runPendingCommand(request.commandId)).toMatchObject({ status: 'succeeded' });
    expect(await typesOf(accountId)).toEqual(['AccountOpened', 'MoneyDeposited']);
  });

  it('rejects an invalid command without storing or dispatching anything', async () => {
    const { commands, dispatched } = inProcess();
    const commandId = newId();
    const invalid = commands.send({ type: 'Deposit', payload: { accountId: 'nope', amount: -1 }, commandId });
    await expect(invalid).rejects.toBeInstanceOf(CommandValidationError);
    await expect(commands.send({ type: 'Teleport', payload: {}, commandId })).rejects.toBeInstanceOf(UnknownCommandTypeError);
    expect(await rowsOf(commandId)).toBe(0);
    expect(dispatched()).toBe(0);
    expect(await commands.getCommandStatus(commandId)).toBeUndefined();
    expect(await commands.runPendingCommand(commandId)).toBeUndefined();
  });

  it('keeps a command whose dispatch failed pending, and reports the failure instead of throwing it', async () => {
    const { db } = context();
    const reported: string[] = [];
    const commands = createAsyncCommands({
      db,
      bus: busOn(db),
      dispatcher: { dispatch: () => Promise.reject(new Error('invoke timed out')) },
      onDispatchError: (error, commandId) => reported.push(`${commandId}: ${(error as Error).message}`),
    });
    const commandId = newId();
    const accountId = newId();
    expect(await commands.send({ type: 'OpenAccount', payload: { accountId, owner: 'ada', currency: 'EUR' }, commandId })).toEqual({
      commandId,
      status: 'pending',
    });
    expect(reported).toEqual([`${commandId}: invoke timed out`]);
    expect(await commands.getCommandStatus(commandId)).toMatchObject({ status: 'pending' });
    expect(await commands.runPendingCommand(commandId)).toMatchObject({ status: 'succeeded', outcome: { version: 1 } });
  });
});
