import { afterEach } from 'vitest';
import type { StoreUnderTest } from '../../support/describeOnEachDriver';
import {
  createAsyncCommands,
  createCommandBus,
  createInProcessDispatcher,
  DEFAULT_RETRY_POLICY,
  type AsyncCommands,
  type CommandBus,
  type CommandDispatcher,
  type InProcessDispatcher,
} from '../../../core/commands';
import type { Db, Queryable } from '../../../core/db';
import { createEventStore, StreamNotFoundError, type EventStore } from '../../../core/eventstore';
import { accountCommands } from '../../support/accountCommands';

export const newId = (): string => crypto.randomUUID();

/** The test accounts' bus; room for retries, since several runs of one command may race. */
export function busOn(db: Db, retry: Partial<typeof DEFAULT_RETRY_POLICY> = {}): CommandBus {
  return createCommandBus({
    db,
    commands: accountCommands(db, createEventStore(db)),
    retry: { ...DEFAULT_RETRY_POLICY, attempts: 50, maxDelayMs: 20, ...retry },
  });
}

/** A dispatcher that loses every call, as a lost invoke or a crashed worker would; it keeps what it was given. */
export function droppingDispatcher(): CommandDispatcher & { dispatched: string[] } {
  const dispatched: string[] = [];
  return {
    dispatched,
    dispatch: (commandId) => {
      dispatched.push(commandId);
      return Promise.resolve();
    },
  };
}

/** Async commands whose sends are never delivered: only the sweep (or a test) runs them. */
export function losingSends(db: Db): AsyncCommands & { dispatcher: ReturnType<typeof droppingDispatcher> } {
  const dispatcher = droppingDispatcher();
  return { ...createAsyncCommands({ db, bus: busOn(db), dispatcher }), dispatcher };
}

/**
 * Async commands run by an in-process worker, which waits for `gate` before each
 * run; counts the dispatches. `drain` before the pools close.
 */
export function inProcessCommands(db: Db, gate: Promise<unknown> = Promise.resolve()) {
  let dispatched = 0;
  let worker: InProcessDispatcher | undefined;
  const commands = createAsyncCommands({
    db,
    bus: busOn(db),
    // The factory form: the dispatcher gets the worker once it exists.
    dispatcher: (runPendingCommand) => {
      const inProcess = createInProcessDispatcher(async (commandId) => {
        await gate;
        return runPendingCommand(commandId);
      });
      worker = inProcess;
      return {
        dispatch: (commandId) => {
          dispatched += 1;
          return inProcess.dispatch(commandId);
        },
      };
    },
  });
  return { commands, dispatched: () => dispatched, drain: () => worker?.drain() ?? Promise.resolve() };
}

/** Makes commands look stuck: pending and untouched for an hour. */
export async function age(db: Queryable, commandIds: readonly string[]): Promise<void> {
  await db.query("UPDATE commands SET updated_at = now() - interval '1 hour' WHERE command_id = ANY($1::text[])", [commandIds]);
}

/** Polls the command's status until `done` holds of it, or fails after `timeoutMs`. */
export async function waitForStatus(
  commands: Pick<AsyncCommands, 'getCommandStatus'>,
  commandId: string,
  done: (status: string | undefined) => boolean = (status) => status !== 'pending',
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await commands.getCommandStatus(commandId);
    if (done(status?.status)) return status;
    if (Date.now() > deadline) throw new Error(`command ${commandId} still ${String(status?.status)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Opens an account synchronously, so the async commands under test have something to act on. */
export async function givenOpenAccount(bus: CommandBus, balance = 0): Promise<string> {
  const accountId = newId();
  await bus.execute({ type: 'OpenAccount', payload: { accountId, owner: 'ada', currency: 'EUR' } });
  if (balance > 0) await bus.execute({ type: 'Deposit', payload: { accountId, amount: balance } });
  return accountId;
}

/** The account's event types in order; none for an account never written to. */
export async function eventTypesOf(store: EventStore, accountId: string): Promise<string[]> {
  try {
    return (await store.readStream(`account-${accountId}`)).events.map((event) => event.type);
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
}

/**
 * What an async spec needs on the store under test: in-process async commands
 * (each drained after its test, since background runs must end before the pools
 * close), the bus, and a stream's event types.
 */
export function asyncSpecKit(context: () => StoreUnderTest) {
  const runs: { drain: () => Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(runs.splice(0).map((run) => run.drain()));
  });
  return {
    inProcess: (gate?: Promise<unknown>) => {
      const commands = inProcessCommands(context().db, gate);
      runs.push(commands);
      return commands;
    },
    bus: () => busOn(context().db),
    typesOf: (accountId: string) => eventTypesOf(context().store, accountId),
  };
}
