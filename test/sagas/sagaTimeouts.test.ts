import { describe, expect, it } from 'vitest';
import type { CommandBus, CommandRequest } from '../../core/commands';
import type { Queryable } from '../../core/db';
import { sleep } from '../support/fixtures';
import { useBankOnTestDatabase } from './support/bankOnTestDatabase';
import { runSagasUntilSettled } from './support/settle';

const TIMEOUT_MS = 30_000;

const balanceOf = async (db: Queryable, accountId: string) => {
  const { rows } = await db.query<{ balance: number }>(
    `SELECT coalesce(sum(CASE type WHEN 'MoneyDeposited' THEN (data->>'amount')::int WHEN 'MoneyWithdrawn' THEN -(data->>'amount')::int ELSE 0 END), 0)::int AS balance
     FROM events WHERE stream_id = $1`,
    [`account-${accountId}`],
  );
  return rows[0]?.balance ?? 0;
};

/** Runs `before` ahead of each command the bus executes that `matches`: a hook into the saga's steps, in this process. */
function beforeCommands(bus: CommandBus, matches: (request: CommandRequest) => boolean, before: () => Promise<void>): void {
  const execute = bus.execute.bind(bus);
  Object.assign(bus, {
    execute: async (request: CommandRequest) => {
      if (matches(request)) await before();
      return execute(request);
    },
  });
}

describe('transfer timeouts, fired by the sweeper on the sagas clock', () => {
  const bank = useBankOnTestDatabase({ transferTimeoutMs: TIMEOUT_MS });
  const execute = (type: string, payload: object) => bank().runtime.bus.execute({ type, payload });
  const open = async (accountId: string, deposit: number) => {
    await execute('OpenAccount', { accountId, owner: accountId, currency: 'EUR' });
    if (deposit > 0) await execute('Deposit', { accountId, amount: deposit });
  };
  const phaseOf = async (transferId: string) => {
    const { rows } = await bank().db.query<{ phase: string }>("SELECT phase FROM saga_instances WHERE saga = 'transfer' AND saga_id = $1", [transferId]);
    return rows[0]?.phase;
  };
  const failureOf = async (transferId: string) => {
    const { rows } = await bank().db.query<{ failure: object }>("SELECT failure FROM saga_instances WHERE saga = 'transfer' AND saga_id = $1", [transferId]);
    return rows[0]?.failure;
  };
  const transferStatus = async (transferId: string) => {
    const { rows } = await bank().db.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1', [`transfer-${transferId}`]);
    return rows[0]?.type;
  };

  it('a timeout due after the transfer completed does nothing: completing dropped it', async () => {
    await open('late-from', 50);
    await open('late-to', 0);
    await execute('RequestTransfer', { transferId: 'late', fromAccountId: 'late-from', toAccountId: 'late-to', amount: 50, currency: 'EUR' });
    await runSagasUntilSettled(bank().runtime);
    bank().clock.advance(TIMEOUT_MS + 1_000);
    expect(await bank().runtime.sagas.sweep()).toMatchObject({ fired: 0, ignored: 0 });
    expect(await transferStatus('late')).toBe('TransferCompleted');
    expect([await balanceOf(bank().db, 'late-from'), await balanceOf(bank().db, 'late-to')]).toEqual([0, 50]);
  });

  it('timeouts firing while transfers complete: each ends completed or refunded, nothing is undone twice, money is conserved', async () => {
    const accounts = ['race-a', 'race-b', 'race-c', 'race-d'];
    for (const account of accounts) await open(account, 500);
    const transfers = Array.from({ length: 24 }, (_, index) => `race-${String(index)}`);
    for (const [index, transferId] of transfers.entries()) {
      await execute('RequestTransfer', { transferId, fromAccountId: accounts[index % 4], toAccountId: accounts[(index + 1) % 4], amount: 20, currency: 'EUR' });
    }
    // As the first debit of the second half starts, the clock passes every timeout and another
    // sweeper fires them all: the transfers already debited have cancelled theirs, the others time
    // out racing their own steps. That debit's own timeout is due and its instance free, so at least
    // one fires whatever the partitions have done so far (a partition's instances may not even be
    // committed yet, and then have no timeout to fire).
    const other = bank().another();
    const race = { timedOut: false };
    const raceIndex = (request: CommandRequest) => {
      const transferId = String((request.payload as { transferId?: string }).transferId);
      return transferId.startsWith('race-') ? Number(transferId.slice('race-'.length)) : undefined;
    };
    beforeCommands(
      bank().runtime.bus,
      (request) => {
        const index = raceIndex(request);
        if (index === undefined) return false;
        return request.type === 'Withdraw' && index >= transfers.length / 2;
      },
      async () => {
        if (race.timedOut) return;
        race.timedOut = true;
        bank().clock.advance(TIMEOUT_MS + 1_000);
        await other.sagas.sweep();
      },
    );
    const sweeping = (async () => {
      while (!race.timedOut) await sleep(5);
      for (let round = 0; round < 10; round += 1) await other.sagas.sweep();
    })();
    await Promise.all([runSagasUntilSettled(bank().runtime), sweeping]);
    await runSagasUntilSettled(bank().runtime);

    for (const transferId of transfers) {
      expect(await phaseOf(transferId), transferId).toBe('completed');
      expect(['TransferCompleted', 'TransferRefunded', 'TransferDebitFailed']).toContain(await transferStatus(transferId));
    }
    const { rows: undone } = await bank().db.query<{ saga_id: string; compensates: number; count: number }>(
      "SELECT saga_id, compensates, count(*)::int AS count FROM saga_steps WHERE saga = 'transfer' AND kind = 'compensation' AND status = 'succeeded' GROUP BY 1, 2 HAVING count(*) > 1",
    );
    expect(undone).toEqual([]);
    // The race was run: timeouts fired into transfers still moving.
    const { rows: fired } = await bank().db.query<{ count: number }>("SELECT count(*)::int AS count FROM saga_inputs WHERE saga = 'transfer' AND kind = 'timeout' AND saga_id LIKE 'race-%'");
    expect(fired[0]?.count).toBeGreaterThan(0);
    const balances = await Promise.all(accounts.map((account) => balanceOf(bank().db, account)));
    expect(balances.reduce((sum, balance) => sum + balance, 0)).toBe(2_000);
  }, 60_000);

  const movementOf = (type: string, accountId: string, transferId: string) => (request: CommandRequest) => {
    const payload = request.payload as { accountId?: string; transferId?: string };
    return request.type === type && payload.accountId === accountId && payload.transferId === transferId;
  };

  it('a refund refused (the source was closed before the late debit came back) leaves the instance stuck, visibly; a retry before the cause is fixed is stuck again', async () => {
    await open('closed-from', 100);
    await open('closed-to', 0);
    const { runtime, clock } = bank();
    // The timeout comes while the debit is in flight...
    beforeCommands(runtime.bus, movementOf('Withdraw', 'closed-from', 'cl'), async () => {
      if ((await phaseOf('cl')) !== 'running') return;
      clock.advance(TIMEOUT_MS + 1_000);
      await bank().another().sagas.sweep();
    });
    // ...the debit lands, and before it can be returned the owner empties and closes the account.
    let closed = false;
    beforeCommands(runtime.bus, movementOf('Deposit', 'closed-from', 'cl'), async () => {
      if (closed) return;
      closed = true;
      await execute('Withdraw', { accountId: 'closed-from', amount: 60 });
      await execute('CloseAccount', { accountId: 'closed-from' });
    });
    await execute('RequestTransfer', { transferId: 'cl', fromAccountId: 'closed-from', toAccountId: 'closed-to', amount: 40, currency: 'EUR' });
    await runSagasUntilSettled(runtime);
    expect(await phaseOf('cl')).toBe('stuck');
    expect(await failureOf('cl')).toMatchObject({ reason: 'COMPENSATION_REFUSED', error: { rule: 'ACCOUNT_CLOSED' }, compensatingFor: 'TIMED_OUT' });
    expect(await transferStatus('cl')).toBe('TransferRequested');

    expect(await runtime.sagas.retryStuck('transfer', 'cl')).toBe(true);
    await runSagasUntilSettled(runtime);
    expect(await phaseOf('cl')).toBe('stuck');
    expect(await failureOf('cl')).toMatchObject({ reason: 'COMPENSATION_REFUSED', error: { rule: 'ACCOUNT_CLOSED' } });
    // Neither side moved: the 40 debited is held by the stuck transfer, for someone to resolve.
    expect([await balanceOf(bank().db, 'closed-from'), await balanceOf(bank().db, 'closed-to')]).toEqual([0, 0]);
  }, 60_000);

  it('a credit that keeps failing without a verdict leaves the instance stuck; retried by hand once the cause is gone, it completes', async () => {
    await open('flaky-from', 100);
    await open('flaky-to', 0);
    const { runtime } = bank();
    let outage = true;
    let tries = 0;
    beforeCommands(runtime.bus, movementOf('Deposit', 'flaky-to', 'fl'), () => {
      if (!outage) return Promise.resolve();
      tries += 1;
      return Promise.reject(new Error('connection to the account store lost'));
    });
    await execute('RequestTransfer', { transferId: 'fl', fromAccountId: 'flaky-from', toAccountId: 'flaky-to', amount: 40, currency: 'EUR' });
    await runSagasUntilSettled(runtime);
    expect(await phaseOf('fl')).toBe('stuck');
    expect(await failureOf('fl')).toMatchObject({ reason: 'STEP_FAILED', error: { message: 'connection to the account store lost' } });
    // Every try the retry policy allows (3 here), plus the first one run straight after the debit's record.
    expect(tries).toBeGreaterThanOrEqual(3);

    outage = false;
    expect(await runtime.sagas.retryStuck('transfer', 'fl')).toBe(true);
    await runSagasUntilSettled(runtime);
    expect(await phaseOf('fl')).toBe('completed');
    expect(await transferStatus('fl')).toBe('TransferCompleted');
    expect([await balanceOf(bank().db, 'flaky-from'), await balanceOf(bank().db, 'flaky-to')]).toEqual([60, 40]);
    expect(await runtime.sagas.retryStuck('transfer', 'fl')).toBe(false);
  }, 60_000);
});
