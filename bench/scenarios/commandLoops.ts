import { randomUUID } from 'node:crypto';
import type { CommandBus } from '../../core/commands';
import type { EventStore } from '../../core/eventstore';
import { runClosedLoop, type LoopResult } from '../support/closedLoop';

export interface LoopTiming {
  warmupMs: number;
  durationMs: number;
}

/** One open account per worker, so workers measure the path rather than contend on one aggregate. */
export async function openAccounts(bus: CommandBus, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  for (const accountId of ids) await bus.execute({ type: 'OpenAccount', payload: { accountId, owner: 'bench', currency: 'EUR' } });
  return ids;
}

/** Deposits through `POST /commands/Deposit` of the local HTTP runtime. */
export function httpDeposits(url: string, accounts: readonly string[], concurrency: number, timing: LoopTiming): Promise<LoopResult> {
  return runClosedLoop({
    concurrency,
    ...timing,
    createWorker: (index) => async () => {
      const response = await fetch(`${url}/commands/Deposit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accountId: accounts[index], amount: 100 }),
      });
      if (response.status !== 200) throw new Error(`deposit answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
    },
  });
}

/** The same deposits through the bus in process: validation, idempotency, load, decide, append. */
export function busDeposits(bus: CommandBus, accounts: readonly string[], concurrency: number, timing: LoopTiming): Promise<LoopResult> {
  return runClosedLoop({
    concurrency,
    ...timing,
    createWorker: (index) => async () => {
      await bus.execute({ type: 'Deposit', payload: { accountId: accounts[index], amount: 100 } });
    },
  });
}

/** The baseline: appending the same event to the same kind of stream, with no command around it. */
export function bareAppends(store: EventStore, concurrency: number, timing: LoopTiming): Promise<LoopResult> {
  return runClosedLoop({
    concurrency,
    ...timing,
    createWorker: () => {
      const streamId = `account-${randomUUID()}`;
      let version = 0;
      return async () => {
        const result = await store.appendToStream({
          streamId,
          streamType: 'account',
          expectedVersion: version,
          events: [{ type: 'MoneyDeposited', data: { amount: 100 } }],
        });
        version = result.nextExpectedVersion;
      };
    },
  });
}
