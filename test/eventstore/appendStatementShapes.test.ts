import { describe, expect, it } from 'vitest';
import { appendStatement, appendStatementName, type AppendShape } from '../../core/eventstore/appendStatement';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(1);

// PostgreSQL keeps the first 63 bytes of a prepared statement's name: two longer names alike that far would share one plan.
const MAX_NAME_BYTES = 63;

const everyShape: AppendShape[] = (['exact', 'head'] as const).flatMap((check) =>
  [false, true].flatMap((batch) =>
    [false, true].flatMap((guardFirstWrite) =>
      (['no', 'new', 'pending'] as const).flatMap((recordCommand) =>
        [false, true].flatMap((messages) => [false, true].map((givenEventIds) => ({ check, batch, guardFirstWrite, recordCommand, messages, givenEventIds }))),
      ),
    ),
  ),
);

describe('the append statement, in every shape a request can take', () => {
  it('is prepared under a name of its own that PostgreSQL keeps whole', () => {
    const names = everyShape.map(appendStatementName);
    expect(new Set(names).size).toBe(everyShape.length);
    expect(names.filter((name) => Buffer.byteLength(name) > MAX_NAME_BYTES)).toEqual([]);
  });

  it('is SQL PostgreSQL plans (in the current schema), every parameter typed', async () => {
    const refused: string[] = [];
    for (const shape of everyShape) {
      const name = appendStatementName(shape);
      await db()
        .query(`PREPARE ${name} AS ${appendStatement(shape)}`)
        .then(() => db().query(`DEALLOCATE ${name}`))
        .catch((error: unknown) => refused.push(`${name}: ${String(error)}`));
    }
    expect(refused).toEqual([]);
  });
});
