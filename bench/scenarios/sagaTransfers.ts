// Transfers end to end through the transfer saga, beside the same commands run
// directly by a hand-written loop, both through the app's command bus.
import { randomUUID } from 'node:crypto';
import { bankService } from '../../core/bank';
import { createInProcessDispatcher, type CommandBus } from '../../core/commands';
import { createPgDb, type Db } from '../../core/db';
import { createServiceRuntime } from '../../core/service';

export interface TransferWorkload {
  transfers: number;
  accounts: number;
  /** Transfers requested (or run, for the loop) at once. */
  concurrency: number;
  poolMax: number;
}

async function inPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next];
        next += 1;
        if (item !== undefined) await work(item);
      }
    }),
  );
}

async function openAccounts(bus: CommandBus, prefix: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, index) => `${prefix}-a${String(index)}`);
  for (const accountId of ids) {
    await bus.execute({ type: 'OpenAccount', payload: { accountId, owner: accountId, currency: 'EUR' } });
    await bus.execute({ type: 'Deposit', payload: { accountId, amount: 1_000_000 } });
  }
  return ids;
}

const plan = (prefix: string, accounts: readonly string[], count: number) =>
  Array.from({ length: count }, (_, index) => ({
    transferId: `${prefix}-t${String(index)}`,
    fromAccountId: accounts[index % accounts.length] ?? '',
    toAccountId: accounts[(index + 1) % accounts.length] ?? '',
    amount: 1 + (index % 50),
    currency: 'EUR',
  }));

function runtimeOn(db: Db) {
  return createServiceRuntime(bankService, { db, dispatcher: (run) => createInProcessDispatcher(run) });
}

/** Requests the transfers while the saga processor runs; the rate is from the first request to the last TransferCompleted. */
export async function measureSagaTransfers(url: string, workload: TransferWorkload): Promise<number> {
  const db = createPgDb({ connectionString: url, max: workload.poolMax });
  try {
    const runtime = runtimeOn(db);
    const prefix = `s${randomUUID().slice(0, 8)}`;
    const transfers = plan(prefix, await openAccounts(runtime.bus, prefix, workload.accounts), workload.transfers);
    const started = performance.now();
    const progress = { requested: false };
    const requesting = inPool(transfers, workload.concurrency, (payload) => runtime.bus.execute({ type: 'RequestTransfer', payload })).then(() => {
      progress.requested = true;
    });
    const completed = async () => {
      const { rows } = await db.query<{ count: number }>(
        "SELECT count(*)::int AS count FROM events WHERE type = 'TransferCompleted' AND stream_id LIKE $1",
        [`transfer-${prefix}-%`],
      );
      return rows[0]?.count ?? 0;
    };
    // The processor runs as a dev loop does: again as soon as a run found work, after a pause when it found none.
    for (;;) {
      const runs = await runtime.sagas.run({ holder: 'bench', deadline: Date.now() + 60_000 });
      const idle = runs.every((run) => run.items === 0);
      if (idle && progress.requested && (await completed()) >= workload.transfers) break;
      if (idle) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await requesting;
    return workload.transfers / ((performance.now() - started) / 1000);
  } finally {
    await db.close();
  }
}

/** The same six commands per transfer, run one after another by a hand-written loop, as many transfers at once. */
export async function measureDirectTransfers(url: string, workload: TransferWorkload): Promise<number> {
  const db = createPgDb({ connectionString: url, max: workload.poolMax });
  try {
    const { bus } = runtimeOn(db);
    const prefix = `d${randomUUID().slice(0, 8)}`;
    const transfers = plan(prefix, await openAccounts(bus, prefix, workload.accounts), workload.transfers);
    const started = performance.now();
    await inPool(transfers, workload.concurrency, async (transfer) => {
      const movement = { amount: transfer.amount, currency: 'EUR', transferId: transfer.transferId };
      const { transferId } = transfer;
      await bus.execute({ type: 'RequestTransfer', payload: transfer });
      await bus.execute({ type: 'Withdraw', payload: { accountId: transfer.fromAccountId, ...movement } });
      await bus.execute({ type: 'RecordDebit', payload: { transferId } });
      await bus.execute({ type: 'Deposit', payload: { accountId: transfer.toAccountId, ...movement } });
      await bus.execute({ type: 'RecordCredit', payload: { transferId } });
      await bus.execute({ type: 'CompleteTransfer', payload: { transferId } });
    });
    return workload.transfers / ((performance.now() - started) / 1000);
  } finally {
    await db.close();
  }
}
