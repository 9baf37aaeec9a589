import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { handler as commandSweeper } from '../../functions/commandSweeper';
import { getRuntime } from '../../functions/runtime';
import { lambdaContext } from '../support/apiGatewayEvent';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';

// Statements give up after a second, as a deployed pool's bound would after its own.
const database = useAppOnTestDatabase({ env: { COMMAND_WORKER_FUNCTION: undefined, DB_QUERY_TIMEOUT_MS: '1000' } });

describe('the command sweeper function, with one part of its run failing', () => {
  it('given the commands table locked by another session, still deletes old processed message ids, and then fails the invocation naming both failed parts', async () => {
    const { db } = await getRuntime();
    await db.query("INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES ('ledger', 'm-old', now() - interval '300 hours'), ('ledger', 'm-new', now())");
    const locker = new pg.Client({ connectionString: database().url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      // Neither re-driving stuck commands nor deleting old command records can run.
      await locker.query('LOCK TABLE commands IN ACCESS EXCLUSIVE MODE');
      const outcome = await commandSweeper({}, lambdaContext('CommandSweeper')).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      await locker.query('ROLLBACK');

      expect(outcome).toBeInstanceOf(AggregateError);
      expect((outcome as AggregateError).errors.map((error: unknown) => (error as Error).name)).toEqual(['DatabaseTimeoutError', 'RetentionFailedError']);
      const { rows } = await db.query<{ message_id: string }>('SELECT message_id FROM processed_messages ORDER BY 1');
      expect(rows.map((row) => row.message_id)).toEqual(['m-new']);
    } finally {
      await locker.end();
    }
  }, 20_000);
});
