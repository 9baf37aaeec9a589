import { beforeAll, describe, expect, it } from 'vitest';
import { inSavepoint, undoneAfter, type Queryable } from '../../core/db';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { WRITTEN_AT_TOP_LEVEL } from '../support/writtenAtTopLevel';

const db = usePooledTestDatabase(2);

beforeAll(async () => {
  await db().query('CREATE TABLE notes (note text NOT NULL)');
});

/** Whether the row just written by `tx` was written by its top-level transaction, not by a savepoint still open. */
async function writtenAtTopLevel(tx: Queryable, note: string): Promise<boolean | undefined> {
  await tx.query('INSERT INTO notes VALUES ($1)', [note]);
  const { rows } = await tx.query<{ top: boolean }>(
    `SELECT ${WRITTEN_AT_TOP_LEVEL} AS top FROM notes WHERE note = $1`,
    [note],
  );
  return rows[0]?.top;
}

const notes = async () => (await db().query<{ note: string }>('SELECT note FROM notes ORDER BY note')).rows.map((row) => row.note);

describe('work in a savepoint of the caller’s transaction', () => {
  it('is kept when it succeeds, undone when it throws (its error passing on), and the transaction goes on at its top level either way', async () => {
    const seen = await db().transaction(async (tx) => {
      const kept = await inSavepoint(tx, 'kept', async () => {
        await tx.query("INSERT INTO notes VALUES ('a kept')");
        return 'done';
      });
      const afterKept = await writtenAtTopLevel(tx, 'b after kept');
      const failure = await inSavepoint(tx, 'failed', async () => {
        await tx.query("INSERT INTO notes VALUES ('c undone')");
        await tx.query('SELECT 1 / 0');
      }).catch((error: unknown) => error);
      const afterFailed = await writtenAtTopLevel(tx, 'd after failed');
      return { kept, afterKept, failure: (failure as { code?: string }).code, afterFailed };
    });

    expect(seen).toEqual({ kept: 'done', afterKept: true, failure: '22012', afterFailed: true });
    expect(await notes()).toEqual(['a kept', 'b after kept', 'd after failed']);
  });

  it('is undone after it succeeds when only its answer (and its locks while it ran) are wanted', async () => {
    await db().query('TRUNCATE notes');
    const seen = await db().transaction(async (tx) => {
      const answer = await undoneAfter(tx, 'look', async () => {
        await tx.query("INSERT INTO notes VALUES ('e undone')");
        return (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM notes')).rows[0]?.n;
      });
      return { answer, after: await writtenAtTopLevel(tx, 'f after') };
    });

    expect(seen).toEqual({ answer: 1, after: true });
    expect(await notes()).toEqual(['f after']);
  });
});
