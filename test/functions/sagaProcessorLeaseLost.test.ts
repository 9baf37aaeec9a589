import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createPgDb } from '../../core/db';
import { configureLogging } from '../../core/observability';
import { runFeedProcessor } from '../../core/processing';
import { handler as sagaProcessor } from '../../functions/sagaProcessor';
import { getRuntime } from '../../functions/runtime';
import { lambdaContext } from '../support/apiGatewayEvent';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';
import { postCommandRequest } from '../support/commandHttp';
import { expireLeases } from '../support/expireLeases';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { sleep } from '../support/fixtures';
import type { LoggedLine } from '../support/publisherFunctionApp';

const lines: LoggedLine[] = [];
configureLogging((level, message, fields) => {
  lines.push({ level, message, fields });
});
const database = useAppOnTestDatabase({ env: { COMMAND_WORKER_FUNCTION: undefined, NUDGE_FUNCTIONS: undefined } });

// While the spec holds it, every append waits: the saga's step dispatch (after its batch commits) stalls in its command.
const STALL_KEY = 424_242;

/** Waits until an append waits on the stall: the saga's batch committed and its step's command is under way. */
async function untilAppendStalls(client: pg.Client): Promise<void> {
  for (let tries = 0; tries <= 200; tries += 1) {
    const { rows } = await client.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted", [STALL_KEY]);
    if (rows.length > 0) return;
    await sleep(50);
  }
  throw new Error('the saga run never reached its step dispatch');
}

describe('the saga processor function, whose run stalls past its lease while another instance takes its partition over', () => {
  it('warns that its partitions were taken over, naming the saga processor and the partitions', async () => {
    const runtime = await getRuntime();
    for (const accountId of ['ll-ada', 'll-bob']) expect((await postCommandRequest('OpenAccount', { accountId, owner: accountId, currency: 'EUR' })).statusCode).toBe(200);
    await postCommandRequest('Deposit', { accountId: 'll-ada', amount: 90 });
    await runtime.db.query(`CREATE FUNCTION stall_appends() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock_shared(${STALL_KEY}); RETURN NULL; END $$`);
    await runtime.db.query('CREATE TRIGGER stall_appends AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION stall_appends()');
    await postCommandRequest('RequestTransfer', { transferId: 'll-t1', fromAccountId: 'll-ada', toAccountId: 'll-bob', amount: 90, currency: 'EUR' });
    await untilFeedHorizonPasses(runtime.db);
    const [processor] = runtime.sagas.processors;
    if (!processor) throw new Error('no saga processor');
    const stall = new pg.Client({ connectionString: database().url });
    await stall.connect();
    const other = createPgDb({ connectionString: database().url, max: 2 });
    lines.length = 0;

    try {
      await stall.query('SELECT pg_advisory_lock($1)', [STALL_KEY]);
      const invocation = sagaProcessor({}, lambdaContext('saga-processor', 60_000));
      await untilAppendStalls(stall);
      // Its lease runs out (as after a lease's time of stall), and another instance takes the partition over.
      await expireLeases(other, processor.name);
      const taken = await runFeedProcessor(processor, { db: other, holder: 'other', leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: processor.partitions });
      expect(taken.failures.map((failure) => failure.error.name)).toEqual(['LeaseRanOutError']);
      await stall.query('SELECT pg_advisory_unlock($1)', [STALL_KEY]);
      await invocation;
    } finally {
      await stall.end();
      await other.close();
      await runtime.db.query('DROP TRIGGER stall_appends ON events');
      await runtime.db.query('DROP FUNCTION stall_appends()');
    }

    const warned = lines.filter((line) => line.level === 'warn' && /took its partitions over/.test(line.message));
    expect(warned.map((line) => line.fields)).toEqual([{ processor: processor.name, partitions: [expect.any(Number)] }]);
  }, 60_000);
});
