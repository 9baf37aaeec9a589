import { expect, it } from 'vitest';
import { PoolClosedError } from '../../core/db';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { untilLockWaiters } from '../support/lockWaiters';

describeOnEachDriver('a pool closed while statements wait for its connections', (context) => {
  it('given a one-connection pool busy with a statement and others waiting for its connection, when it closes, then each waiting one fails with PoolClosedError, the running one completes, and one sent after fails too', async () => {
    const lock = Math.floor(Math.random() * 1_000_000);
    let lockTaken!: () => void;
    let letGo!: () => void;
    const taken = new Promise<void>((resolve) => (lockTaken = resolve));
    const letGoOf = new Promise<void>((resolve) => (letGo = resolve));
    const holding = context()
      .connect(1)
      .transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [lock]);
        lockTaken();
        await letGoOf;
      });
    await taken;
    const db = context().connect(1);
    // The pool's one connection waits on the lock; three more wait for that connection.
    const running = db.query<{ done: boolean }>('SELECT true AS done FROM pg_advisory_xact_lock($1)', [lock]);
    const waiting = Promise.allSettled([db.query('SELECT 1'), db.transaction((tx) => tx.query('SELECT 2')), db.query('SELECT 3')]);
    await untilLockWaiters(context().databaseUrl, 'some');

    const closing = db.close();

    const refused = (await waiting).map((outcome) => outcome.status === 'rejected' && outcome.reason instanceof PoolClosedError);
    expect(refused).toEqual([true, true, true]);
    letGo();
    await holding;
    expect((await running).rows).toEqual([{ done: true }]);
    await closing;
    await expect(db.query('SELECT 4')).rejects.toBeInstanceOf(PoolClosedError);
  });
});
