import type { Queryable } from './Db';

// ROLLBACK TO keeps the savepoint open: without the RELEASE, the caller would go on inside
// it, a subtransaction every later row of the transaction would be written under.
async function undo(tx: Queryable, name: string, failure?: unknown): Promise<void> {
  try {
    await tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
    await tx.query(`RELEASE SAVEPOINT ${name}`);
  } catch (error) {
    // A connection lost during the work fails these too: the work's own error says more.
    throw failure ?? error;
  }
}

async function inSavepointThen<T>(tx: Queryable, name: string, work: () => Promise<T>, onSuccess: 'keep' | 'undo'): Promise<T> {
  await tx.query(`SAVEPOINT ${name}`);
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await undo(tx, name, error);
    throw error;
  }
  if (onSuccess === 'keep') await tx.query(`RELEASE SAVEPOINT ${name}`);
  else await undo(tx, name);
  return result;
}

/**
 * Runs `work` in a savepoint of the caller's transaction (`name` a constant
 * identifier): kept if it succeeds; undone, with the transaction usable again,
 * if it throws, and its error goes on.
 */
export const inSavepoint = <T>(tx: Queryable, name: string, work: () => Promise<T>): Promise<T> => inSavepointThen(tx, name, work, 'keep');

/** Runs `work` in a savepoint that is undone whatever it does: its locks last for the work only. */
export const undoneAfter = <T>(tx: Queryable, name: string, work: () => Promise<T>): Promise<T> => inSavepointThen(tx, name, work, 'undo');
