import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { AccountEvent } from '../../core/bank';
import { createPgDb, DEFAULT_MIGRATIONS_DIRECTORY, migrate, type Db } from '../../core/db';
import { createEventStore, type EventUpcaster, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, getProcessorStatus, resumeProcessors, runFeedProcessor, type ExternalHandler, type FeedProcessor } from '../../core/processing';
import { defineUpcasters } from '../../core/upcasting';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, sleep, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { createTestDatabase } from '../support/testDatabase';

const db = usePooledTestDatabase(4);

const olderCode = defineUpcasters([]);
// The release that stores MoneyDeposited at version 2, which the older code cannot read.
const newerCode = defineUpcasters([{ fromType: 'MoneyDeposited', fromVersion: 1, toType: 'MoneyDeposited', toVersion: 2, transform: (data) => data }]);
const depositOfNewerCode = { type: 'MoneyDeposited', data: { amount: 7 }, schemaVersion: 2 } as const;

function publisherLike(name: string, streamType: string, upcaster: EventUpcaster, handle: ExternalHandler<RecordedEvent>['handle'], baseDelayMs = 10): FeedProcessor<RecordedEvent> {
  return {
    name,
    partitions: 1,
    batchSize: 10,
    source: eventFeedSource({ upcaster, streamTypes: [streamType] }),
    failurePolicy: { maxAttempts: 5, baseDelayMs, maxDelayMs: 60_000 },
    handler: { mode: 'external', handle },
  };
}

const natsRefuses = () => Promise.resolve({ done: 0, error: new Error('nats: no responders') });

describe('an external partition whose interruptions follow or precede failures that pass by themselves', () => {
  it('given three unreadable tries during a deploy, then NATS refusing once, counts the interruptions in a row, names no item and shows no wait gone by', async () => {
    const store = createEventStore(db());
    await store.appendToStream<AccountEvent>({ streamId: uniqueStreamId(), streamType: 'deploy_account', expectedVersion: 'no_stream', events: [depositOfNewerCode] });
    await untilFeedHorizonPasses(db());
    const run = (processor: FeedProcessor<RecordedEvent>, ms: number) =>
      runFeedProcessor(processor, { db: db(), holder: 'publisher', leaseTtlMs: 30_000, deadline: Date.now() + ms, concurrency: 1, interruptionBackoff: { baseMs: 10_000, maxMs: 10_000 } });
    const during = publisherLike('publisher_during_deploy', 'deploy_account', olderCode, (items) => Promise.resolve({ done: items.length }));
    for (let attempt = 1; attempt <= 3; attempt++) {
      await run(during, 5_000);
      // Past the policy's 10 ms (doubling) wait.
      await sleep(100);
    }
    expect((await getProcessorStatus(db(), during))[0]).toMatchObject({ attempts: 3 });

    await run(publisherLike('publisher_during_deploy', 'deploy_account', newerCode, natsRefuses), 500);

    const [status] = await getProcessorStatus(db(), during);
    expect({ lastError: status?.lastError, attempts: status?.attempts, failedItemId: status?.failedItemId, nextAttemptAt: status?.nextAttemptAt }).toEqual({
      lastError: expect.stringContaining('no responders') as string,
      attempts: 1,
      failedItemId: null,
      nextAttemptAt: null,
    });
    // Nothing held back: a resume has nothing to put back to work.
    expect(await resumeProcessors(db(), [during.name])).toEqual([]);
  });

  it('given NATS away for many tries, then an event stored by newer code, waits the base delay after that first unreadable try', async () => {
    const store = createEventStore(db());
    const streamId = uniqueStreamId();
    await store.appendToStream({ streamId, streamType: 'outage_account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db());
    let natsUp = false;
    const processor = publisherLike(
      'publisher_after_outage',
      'outage_account',
      olderCode,
      (items) => (natsUp ? Promise.resolve({ done: items.length }) : natsRefuses()),
      1_000,
    );
    // Short runs until the outage has lasted more than five tries: how many fit in one run depends on the runner's load.
    const attemptsSoFar = async () => (await getProcessorStatus(db(), processor))[0]?.attempts ?? 0;
    const outageEnds = Date.now() + 20_000;
    while ((await attemptsSoFar()) <= 5 && Date.now() < outageEnds) {
      await runFeedProcessor(processor, { db: db(), holder: 'publisher', leaseTtlMs: 30_000, deadline: Date.now() + 400, concurrency: 1, interruptionBackoff: { baseMs: 5, maxMs: 10 } });
    }
    expect(await attemptsSoFar()).toBeGreaterThan(5);

    await store.appendToStream<AccountEvent>({ streamId, streamType: 'outage_account', expectedVersion: 1, events: [depositOfNewerCode] });
    await untilFeedHorizonPasses(db());
    natsUp = true;
    const run = await runFeedProcessor(processor, { db: db(), holder: 'publisher', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });

    expect(run.failures).toHaveLength(1);
    const [status] = await getProcessorStatus(db(), processor);
    const waitMs = (status?.nextAttemptAt?.getTime() ?? 0) - (status?.updatedAt.getTime() ?? 0);
    expect({ attempts: status?.attempts, waitMs: Math.round(waitMs / 100) * 100 }).toEqual({ attempts: 1, waitMs: 1_000 });
  });
});

// What the release before migration 0035 wrote for each interruption.
const INTERRUPTION_BEFORE_0035 = `
  UPDATE processor_partitions
  SET attempts = CASE WHEN failure_retry IS DISTINCT FROM 'until_it_passes' THEN 1 ELSE attempts + 1 END,
      failure_retry = 'until_it_passes', last_error = $2, updated_at = now()
  WHERE processor = $1`;

/** A database of its own on the schema before migration 0035; dropped when the spec ends. */
async function onTheSchemaBefore0035(): Promise<Db> {
  const database = await createTestDatabase({ migrated: false });
  const pool = createPgDb({ connectionString: database.url, max: 4 });
  const earlier = await mkdtemp(path.join(tmpdir(), 'migrations-'));
  onTestFinished(async () => {
    await pool.close();
    await database.drop();
    await rm(earlier, { recursive: true, force: true });
  });
  for (const name of (await readdir(DEFAULT_MIGRATIONS_DIRECTORY)).filter((file) => file < '0035')) {
    await copyFile(path.join(DEFAULT_MIGRATIONS_DIRECTORY, name), path.join(earlier, name));
  }
  await migrate(pool, { directory: earlier });
  return pool;
}

describe('migration 0035 on a partition whose NATS outage the release before it counted', () => {
  it('given thirty interruptions in a row recorded before the upgrade, then an event stored by newer code, waits the base delay after that first unreadable try', async () => {
    const pool = await onTheSchemaBefore0035();
    const store = createEventStore(pool);
    const streamId = uniqueStreamId();
    await store.appendToStream({ streamId, streamType: 'upgrade_account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(pool);
    const processor = publisherLike('publisher_across_upgrade', 'upgrade_account', olderCode, (items) => Promise.resolve({ done: items.length }), 1_000);
    const run = () => runFeedProcessor(processor, { db: pool, holder: 'publisher', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });
    await run();
    for (let interruption = 0; interruption < 30; interruption++) await pool.query(INTERRUPTION_BEFORE_0035, [processor.name, 'Error: nats: no responders']);

    await migrate(pool);
    await store.appendToStream<AccountEvent>({ streamId, streamType: 'upgrade_account', expectedVersion: 1, events: [depositOfNewerCode] });
    await untilFeedHorizonPasses(pool);
    const failed = await run();

    expect(failed.failures).toHaveLength(1);
    const [status] = await getProcessorStatus(pool, processor);
    const waitMs = (status?.nextAttemptAt?.getTime() ?? 0) - (status?.updatedAt.getTime() ?? 0);
    expect({ attempts: status?.attempts, waitMs: Math.round(waitMs / 100) * 100 }).toEqual({ attempts: 1, waitMs: 1_000 });
  });
});
