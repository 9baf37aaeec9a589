import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMetricsSink } from '../../core/observability';
import { acquirePartitionLease } from '../../core/processing';
import { parkMessages, readPublishingStatus, requeueParkedMessage } from '../../core/publishing';
import { getRuntime } from '../../functions/runtime';
import { handler as publish } from '../../functions/publisher';
import { lambdaContext } from '../support/apiGatewayEvent';
import { usePublisherFunctionApp } from '../support/publisherFunctionApp';
import { postCommandRequest } from '../support/commandHttp';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { expireLeases } from '../support/expireLeases';
import { connectNats, deleteJetStream } from '../support/natsTesting';

const { jetStream, lines, nats } = usePublisherFunctionApp();

beforeAll(async () => {
  const nc = await connectNats({ servers: nats().url });
  await (await jetstreamManager(nc)).streams.add({ name: jetStream.name, subjects: [`${jetStream.prefix}.>`] });
  await nc.close();
});

afterAll(async () => {
  const nc = await connectNats({ servers: nats().url });
  await deleteJetStream(nc, jetStream.name);
  await nc.close();
});

/** Opens an account and runs the function until its event is published (the events checkpoint is past it); returns the event's id. */
async function publishedAccount(accountId: string): Promise<string> {
  expect((await postCommandRequest('OpenAccount', { accountId, owner: accountId, currency: 'EUR' })).statusCode).toBe(200);
  const { db } = await getRuntime();
  await untilFeedHorizonPasses(db);
  for (let run = 0; run < 50 && (await readPublishingStatus(db)).events.backlog > 0; run++) await publish({}, lambdaContext('publisher', 60_000));
  expect((await readPublishingStatus(db)).events.backlog).toBe(0);
  const { rows } = await db.query<{ event_id: string }>('SELECT event_id FROM events WHERE stream_id = $1 AND version = 1', [`account-${accountId}`]);
  return rows[0]?.event_id ?? '';
}

/** Runs `work` with a statement trigger on `table` running `body` (PL/pgSQL), dropped afterwards. */
async function withTrigger<T>(name: string, on: string, body: string, work: () => Promise<T>): Promise<T> {
  const { db } = await getRuntime();
  await db.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${body} END $$`);
  await db.query(`CREATE TRIGGER ${name} ${on} FOR EACH STATEMENT EXECUTE FUNCTION ${name}()`);
  try {
    return await work();
  } finally {
    await db.query(`DROP TRIGGER ${name} ON parked_messages`);
    await db.query(`DROP FUNCTION ${name}()`);
  }
}

const levelsAndMessages = () => lines.map((line) => [line.level, line.message]);

describe('the publisher function, on a run that fails or loses its work to another instance', () => {
  it('given a message parked for good and a requeue turn whose write fails on every run, still says messages are parked, says the run failed, and reports the publishing gauges', async () => {
    const { db } = await getRuntime();
    const eventId = await publishedAccount('acc-turn-fails');
    await parkMessages(db, 'events', [{ messageId: eventId, orderingKey: 'account-acc-turn-fails', subject: `${jetStream.prefix}.account.AccountOpened`, error: 'too big' }]);
    expect(await requeueParkedMessage(db, eventId, 'events')).toBe(true);
    await parkMessages(db, 'outbox', [{ messageId: crypto.randomUUID(), orderingKey: 'notices', subject: `${jetStream.prefix}.notices`, error: 'too big' }]);
    const gauges: string[] = [];
    const stop = addMetricsSink({ count: () => undefined, observe: () => undefined, gauge: (name) => void gauges.push(name) });
    lines.length = 0;

    // The requeue turn's write (moving its keys behind the others) is refused: the run throws after its cleanup.
    const run = withTrigger('refuse_requeue_turn', 'BEFORE UPDATE OF requeue_turn_at ON parked_messages', "RAISE EXCEPTION 'requeue turn write refused';", () =>
      publish({}, lambdaContext('publisher', 60_000)),
    ).finally(stop);

    await expect(run).rejects.toThrow(/requeue turn write refused/);
    expect((await readPublishingStatus(db)).parked).toBe(1);
    expect(levelsAndMessages()).toEqual([
      ['error', 'messages refused by NATS for good are parked'],
      ['error', 'the publisher run failed; what it did not publish waits for the next run'],
    ]);
    expect(lines[1]?.fields).toMatchObject({ error: expect.stringMatching(/requeue turn write refused/) as string, status: { parked: 1 } });
    expect(gauges).toEqual(expect.arrayContaining(['PublishBacklog', 'ParkedMessages']));
  }, 60_000);

  it('given its requeue turn taken over by another instance while it ran, warns that its work was taken over, with leaseLost in the report', async () => {
    const { db } = await getRuntime();
    await db.query('DELETE FROM parked_messages');
    const eventId = await publishedAccount('acc-turn-lost');
    await parkMessages(db, 'events', [{ messageId: eventId, orderingKey: 'account-acc-turn-lost', subject: `${jetStream.prefix}.account.AccountOpened`, error: 'too big' }]);
    expect(await requeueParkedMessage(db, eventId, 'events')).toBe(true);
    lines.length = 0;

    // Another instance takes the turn's lease over once the message has left the parked list (as if this one stalled past it).
    await withTrigger(
      'take_requeue_turn_over',
      'AFTER DELETE ON parked_messages',
      "UPDATE partition_leases SET holder = 'elsewhere', epoch = epoch + 1, expires_at = now() + interval '1 minute' WHERE lease_group = 'publisher:requeued'; RETURN NULL;",
      () => publish({}, lambdaContext('publisher', 60_000)),
    );
    await db.query("UPDATE partition_leases SET holder = NULL, expires_at = '-infinity' WHERE holder = 'elsewhere'");

    expect(levelsAndMessages()).toEqual([['warn', 'the publisher stalled past its lease and another instance took its work over; what went out may go out again']]);
    expect(lines[0]?.fields).toMatchObject({ report: { leaseLost: 1, requeued: 1 } });
  }, 60_000);

  it('given a partition held back and a requeue turn whose write fails, still says partitions are held back, before saying the run failed', async () => {
    const { db } = await getRuntime();
    await db.query('DELETE FROM parked_messages');
    const eventId = await publishedAccount('acc-held-back');
    // A partition waiting out the backoff after publishers died holding it.
    await db.query(
      `UPDATE processor_partitions SET attempts = 2, last_error = 'LeaseRanOutError: its process ended or stalled', next_attempt_at = now() + interval '1 hour'
       WHERE processor = 'publisher:events' AND partition = 0`,
    );
    await parkMessages(db, 'events', [{ messageId: eventId, orderingKey: 'account-acc-held-back', subject: `${jetStream.prefix}.account.AccountOpened`, error: 'too big' }]);
    expect(await requeueParkedMessage(db, eventId, 'events')).toBe(true);
    lines.length = 0;

    const run = withTrigger('refuse_requeue_turn', 'BEFORE UPDATE OF requeue_turn_at ON parked_messages', "RAISE EXCEPTION 'requeue turn write refused';", () =>
      publish({}, lambdaContext('publisher', 60_000)),
    );

    await expect(run).rejects.toThrow(/requeue turn write refused/);
    await db.query("UPDATE processor_partitions SET attempts = 0, last_error = NULL, next_attempt_at = NULL WHERE processor = 'publisher:events'");
    expect(levelsAndMessages()).toEqual([
      ['warn', 'publishing partitions are held back after publishers died holding them; they wait'],
      ['error', 'the publisher run failed; what it did not publish waits for the next run'],
    ]);
    expect(lines[0]?.fields).toMatchObject({ status: { heldBack: [expect.objectContaining({ source: 'events', partition: 0, attempts: 2 })] } });
  }, 60_000);

  it('given a partition taken over from a dead publisher and reading what waits failing after the run, still says a publisher died, says the read failed, and does not fail the run', async () => {
    const { db } = await getRuntime();
    await db.query('DELETE FROM parked_messages');
    await publishedAccount('acc-status-fails');
    const { rows } = await db.query<{ partitions: number }>("SELECT partitions FROM feed_processors WHERE name = 'publisher:events'");
    expect(await acquirePartitionLease(db, { group: 'publisher:events', partitions: rows[0]?.partitions ?? 0, holder: 'dead', ttlMs: 60_000, only: 1 })).not.toBeNull();
    await expireLeases(db, 'publisher:events');
    lines.length = 0;

    // The gauges' read of the projections' status fails after the run (the table is away for a moment).
    await db.query('ALTER TABLE projection_generations RENAME TO projection_generations_away');
    const run = publish({}, lambdaContext('publisher', 60_000)).finally(() => db.query('ALTER TABLE projection_generations_away RENAME TO projection_generations'));

    await expect(run).resolves.toBeUndefined();
    expect(levelsAndMessages()).toEqual([
      ['error', 'a publisher died holding a partition: its batch was counted against it'],
      ['error', 'reading what waits failed: the backlog and parked gauges were not reported for this run'],
    ]);
    expect(lines[1]?.fields).toMatchObject({ report: { failures: 1 }, error: expect.stringMatching(/projection_generations/) as string });
  }, 60_000);
});
