import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { countedMetrics } from '../support/countedMetrics';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { readStoredMessages } from '../support/natsTesting';
import { statementTimesOut } from '../support/statementTimesOut';
import { cleanedUpAfterEach, type PublishingHarness } from './publishingHarness';

const { defer, harness } = cleanedUpAfterEach();

const RETENTION = { retentionMs: 3_600_000, batchSize: 1_000, maxBatches: 10 };

/** The harness's database on a pool of its own (closed after the spec), but each statement `chosen` picks times out. */
function timingOut(h: PublishingHarness, chosen: Parameters<typeof statementTimesOut>[1]): Db {
  const pool = createPgDb({ connectionString: h.database.url, max: 3 });
  defer(() => pool.close());
  return statementTimesOut(pool, chosen);
}

/** The requeue turn's page of requeued messages (100 at a time, read under its lease) times out, as a read of a long parked list would. */
const requeuedPageTimesOut = (h: PublishingHarness) => timingOut(h, (text, params) => text.includes('AS seen_in') && params?.[0] === 100);

/** The first statement giving the requeue turn's lease back times out: a passing failure. */
function requeueReleaseTimesOutOnce(h: PublishingHarness): Db {
  let timedOut = false;
  return timingOut(h, (text, params) => {
    if (timedOut || !text.includes('WITH released AS') || params?.[0] !== 'publisher:requeued') return false;
    timedOut = true;
    return true;
  });
}

/** The outbox source's page read times out. */
const outboxPageTimesOut = (h: PublishingHarness) => timingOut(h, (_text, _params, options) => options?.name === 'publisher_outbox_page');

/** One integration message, written now or `hoursAgo`. */
async function message(h: PublishingHarness, key: string, subject: string, hoursAgo = 0, count = 1): Promise<void> {
  await h.db.query(
    `INSERT INTO outbox (message_id, ordering_key, subject, payload, headers, created_at)
     SELECT gen_random_uuid(), $1, $2, '{}', '{}', now() - make_interval(hours => $3::integer) FROM generate_series(1, $4::integer)`,
    [key, `${h.subjectPrefix}.${subject}`, hoursAgo, count],
  );
}

/** The outbox partition's checkpoint moved past every message written so far: they count as published. */
async function publishedSoFar(h: PublishingHarness): Promise<void> {
  await h.db.query(
    `UPDATE processor_partitions SET checkpoint_tx = (SELECT max(tx_id) FROM outbox), checkpoint_position = (SELECT max(id) FROM outbox)
     WHERE processor = 'publisher:outbox'`,
  );
}

/** A message of `key`, published before, parked and then requeued by a person. */
async function requeuedMessage(h: PublishingHarness, key: string, subject: string): Promise<void> {
  await message(h, key, subject);
  await publishedSoFar(h);
  await h.db.query(
    `INSERT INTO parked_messages (message_id, source, ordering_key, subject, error, requeued_at)
     SELECT message_id, 'outbox', ordering_key, subject, 'refused', now() FROM outbox WHERE ordering_key = $1`,
    [key],
  );
}

describe('a run whose requeue turn fails', () => {
  it('given the requeued page timing out on every run, still publishes the new messages of other keys and cleans up the outbox, releases the turn, then fails', async () => {
    const h = await harness();
    await (await jetstreamManager(h.nc)).streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`] });
    await h.publisher({ partitions: 1, retention: RETENTION }).run({ deadline: Date.now() + 5_000 });
    await message(h, 'requeued-key', 'notices.requeued');
    await message(h, 'old-key', 'notices.old', 48, 500);
    await publishedSoFar(h);
    await h.db.query(
      `INSERT INTO parked_messages (message_id, source, ordering_key, subject, error, requeued_at)
       SELECT message_id, 'outbox', ordering_key, subject, 'refused', now() FROM outbox WHERE ordering_key = 'requeued-key'`,
    );
    await message(h, 'fresh-key', 'notices.fresh');
    // Read by the run, whatever other files' transactions hold the horizon back.
    await untilFeedHorizonPasses(h.db);
    const metrics = countedMetrics();

    const run = h.publisher({ db: requeuedPageTimesOut(h), partitions: 1, retention: RETENTION }).run({ deadline: Date.now() + 5_000 });

    await expect(run).rejects.toThrow(/statement timeout/);
    metrics.stop();
    const stored = await readStoredMessages(h.nc, h.streamName);
    expect(stored.map((stored) => stored.subject)).toEqual([`${h.subjectPrefix}.notices.fresh`]);
    const { rows } = await h.db.query<{ old: number }>("SELECT count(*)::int AS old FROM outbox WHERE ordering_key = 'old-key'");
    expect(rows).toEqual([{ old: 0 }]);
    expect(metrics.counted).toMatchObject({ OutboxCleaned: 500 });
    const lease = await h.db.query<{ holder: string | null }>("SELECT holder FROM partition_leases WHERE lease_group = 'publisher:requeued'");
    expect(lease.rows).toEqual([{ holder: null }]);
  });

  it('given its lease release timing out once, tries again and gives the turn back, so the next run sends a message requeued meanwhile', async () => {
    const h = await harness();
    await (await jetstreamManager(h.nc)).streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`] });
    await h.publisher({ partitions: 1 }).run({ deadline: Date.now() + 5_000 });
    await requeuedMessage(h, 'first-key', 'notices.first');
    await untilFeedHorizonPasses(h.db);

    const first = await h.publisher({ db: requeueReleaseTimesOutOnce(h), partitions: 1 }).run({ deadline: Date.now() + 5_000 });
    await requeuedMessage(h, 'second-key', 'notices.second');
    await untilFeedHorizonPasses(h.db);
    const second = await h.publisher({ partitions: 1 }).run({ deadline: Date.now() + 5_000 });

    expect([first.requeued, second.requeued]).toEqual([1, 1]);
    const stored = await readStoredMessages(h.nc, h.streamName);
    expect(stored.map((stored) => stored.subject)).toEqual([`${h.subjectPrefix}.notices.first`, `${h.subjectPrefix}.notices.second`]);
    const lease = await h.db.query<{ holder: string | null }>("SELECT holder FROM partition_leases WHERE lease_group = 'publisher:requeued'");
    expect(lease.rows).toEqual([{ holder: null }]);
  });

  it('given the outbox source failing in the same run, fails with an error that tells both failures', async () => {
    const h = await harness();
    await (await jetstreamManager(h.nc)).streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`] });
    await h.publisher({ partitions: 1 }).run({ deadline: Date.now() + 5_000 });
    await requeuedMessage(h, 'requeued-key', 'notices.requeued');
    await message(h, 'fresh-key', 'notices.fresh');
    // The requeue turn's write (moving its keys behind the others) is refused.
    await h.db.query("CREATE FUNCTION refuse_requeue_turn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'requeue turn write refused'; END $$");
    await h.db.query('CREATE TRIGGER refuse_requeue_turn BEFORE UPDATE OF requeue_turn_at ON parked_messages FOR EACH STATEMENT EXECUTE FUNCTION refuse_requeue_turn()');

    const failed = await h.publisher({ db: outboxPageTimesOut(h), partitions: 1 }).run({ deadline: Date.now() + 5_000 }).then(() => null, (error: unknown) => error);

    expect(failed).toBeInstanceOf(AggregateError);
    expect((failed as AggregateError).errors.map(String)).toEqual([
      expect.stringMatching(/requeue turn write refused/),
      expect.stringMatching(/statement timeout/),
    ]);
    expect((failed as AggregateError).message).toMatch(/failed in 2 places: .*requeue turn write refused.*statement timeout/);
  });
});
