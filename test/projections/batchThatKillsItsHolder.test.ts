import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { START_OF_FEED } from '../../core/eventstore';
import { createProjector, getProjectionStatus, processorNameOf, resumeProjection, type PartitionStatus } from '../../core/projections';
import type { Db } from '../../core/db';
import { expireLeases } from '../support/expireLeases';
import { readThrough } from '../support/followFeed';
import { useProjectionDatabase } from './support/projectionDatabase';
import { appendAcrossStreams, expectExactlyOnceInOrder, readApplied, recordingProjection } from './support/recordingProjection';

// Long enough that a holder reaches its batch on a loaded runner; a killed holder's lease is expired by SQL.
const TTL_MS = 60_000;
const MAX_ATTEMPTS = 3;
// Long enough to be seen on a loaded runner; the spec ends the wait by SQL once it has.
const BASE_DELAY_MS = 30_000;
const STALLING_PROJECTOR = fileURLToPath(new URL('support/stallingProjector.ts', import.meta.url));
const NAME = 'poisoned';

/**
 * Runs one projector instance as a process of its own until it starts a batch
 * (then kills it there, as a batch that crashes its Lambda would) or its run
 * ends without one (then lets it go).
 */
async function runHolder(db: Db, url: string, holder: string): Promise<'killed in a batch' | 'ended without a batch'> {
  const child = spawn(process.execPath, ['--import', 'tsx', STALLING_PROJECTOR, url, NAME, String(TTL_MS), holder, String(MAX_ATTEMPTS), String(BASE_DELAY_MS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Not left running if the spec times out before it kills it.
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  const seen = await new Promise<'killed in a batch' | 'ended without a batch'>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      if (text.includes('in-batch')) resolve('killed in a batch');
      else if (text.includes('run-ended')) resolve('ended without a batch');
    });
    child.once('exit', (code) => {
      reject(new Error(`${holder} exited (${String(code)}) before saying how its run went`));
    });
  });
  child.kill('SIGKILL');
  await once(child, 'exit');
  // A killed holder's lease stands until it runs out: end it now rather than wait.
  if (seen === 'killed in a batch') await expireLeases(db, processorNameOf(NAME, 1));
  return seen;
}

async function partitionOf(db: Db): Promise<PartitionStatus> {
  const [status] = await getProjectionStatus(db, NAME);
  const partition = status?.generations[0]?.partitions[0];
  if (!partition) throw new Error(`${NAME} has no partition yet`);
  return partition;
}

describe('a batch that kills its holder every time', () => {
  const context = useProjectionDatabase();

  it('is counted on each takeover, waits from the second in a row, and fails the partition at the policy\'s last attempt', async () => {
    const { db, store, url } = context();
    const appended = await appendAcrossStreams(store, ['acc-1', 'acc-2'], 10, 5);
    await readThrough(store, START_OF_FEED, appended.checkpoint);

    expect(await runHolder(db, url, 'first')).toBe('killed in a batch');

    // Taken over from a holder that never gave it back: one attempt, tried again at once.
    expect(await runHolder(db, url, 'second')).toBe('killed in a batch');
    expect(await partitionOf(db)).toMatchObject({ state: 'rebuilding', attempts: 1, nextAttemptAt: null });
    expect((await partitionOf(db)).lastError).toContain('the lease of first ran out');

    // The second in a row waits out the policy's first delay before its batch.
    const before = Date.now();
    expect(await runHolder(db, url, 'third')).toBe('ended without a batch');
    const waiting = await partitionOf(db);
    expect(waiting).toMatchObject({ state: 'rebuilding', attempts: 2 });
    expect(waiting.lastError).toContain('the lease of second ran out');
    expect(waiting.nextAttemptAt?.getTime()).toBeGreaterThan(before + BASE_DELAY_MS / 2);
    await db.query('UPDATE processor_partitions SET next_attempt_at = now() WHERE processor = $1', [processorNameOf(NAME, 1)]);

    // The wait over, the batch is tried (and kills its holder) once more; the next takeover is the last attempt.
    expect(await runHolder(db, url, 'fourth')).toBe('killed in a batch');
    expect(await runHolder(db, url, 'fifth')).toBe('ended without a batch');
    const failed = await partitionOf(db);
    expect(failed).toMatchObject({ state: 'failed', attempts: MAX_ATTEMPTS, nextAttemptAt: null, failedEventId: null });
    expect(failed.lastError).toContain('the lease of fourth ran out');
    expect(await readApplied(db, recordingProjection({ name: NAME }))).toHaveLength(0);

    // Resumed with the cause fixed, every event is applied once, and the streak is cleared.
    expect(await resumeProjection(db, NAME)).toHaveLength(1);
    const healthy = createProjector({ db, projections: [recordingProjection({ name: NAME, batchSize: 20 })], holder: 'healthy', leaseTtlMs: TTL_MS });
    expect((await healthy.runUntilCaughtUp()).eventsApplied).toBe(appended.eventIds.length);
    expectExactlyOnceInOrder(await readApplied(db, recordingProjection({ name: NAME })), appended.eventIds);
    expect(await partitionOf(db)).toMatchObject({ state: 'running', attempts: 0, lastError: null });
  }, 120_000);
});

describe('a partition its holder gave back', () => {
  const context = useProjectionDatabase();

  it('is taken with no attempt counted', async () => {
    const { db, store } = context();
    const projection = recordingProjection({ name: 'given_back', batchSize: 20 });
    const appended = await appendAcrossStreams(store, ['acc-3'], 10, 5);
    await readThrough(store, START_OF_FEED, appended.checkpoint);
    for (const holder of ['one', 'two']) {
      const run = await createProjector({ db, projections: [projection], holder, leaseTtlMs: TTL_MS }).runUntilCaughtUp();
      expect(run.eventsApplied).toBe(holder === 'one' ? appended.eventIds.length : 0);
    }
    const [status] = await getProjectionStatus(db, 'given_back');
    expect(status?.generations[0]?.partitions[0]).toMatchObject({ state: 'running', attempts: 0, lastError: null });
  });
});
