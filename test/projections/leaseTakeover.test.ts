import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { acquirePartitionLease, type HandlerFailure } from '../../core/processing';
import { createProjector, processorNameOf, rebuildProjection, registerProjection } from '../../core/projections';
import { START_OF_FEED } from '../../core/eventstore';
import { expireLeases } from '../support/expireLeases';
import { readThrough } from '../support/followFeed';
import { streamIdInPartition } from '../support/streamInPartition';
import { useProjectionDatabase } from './support/projectionDatabase';
import { appendAcrossStreams, expectExactlyOnceInOrder, readApplied, recordingProjection } from './support/recordingProjection';

// Longer than any of these specs: a dead holder's lease ends only when the spec expires it,
// so "the lease still stands" holds however slow the runner is.
const TTL_MS = 60_000;
const STALLING_PROJECTOR = fileURLToPath(new URL('support/stallingProjector.ts', import.meta.url));

describe('a partition whose holder stopped', () => {
  const context = useProjectionDatabase();

  it('is left alone while the lease lasts, then taken over from the stored checkpoint', async () => {
    const { db, store } = context();
    const projection = recordingProjection({ name: 'abandoned' });
    await registerProjection(db, projection);
    const appended = await appendAcrossStreams(store, ['acc-1', 'acc-2'], 30, 10);
    await readThrough(store, START_OF_FEED, appended.checkpoint);
    // An instance took the partition and died before its first batch.
    const group = processorNameOf('abandoned', 1);
    const dead = await acquirePartitionLease(db, { group, partitions: 1, holder: 'dead', ttlMs: TTL_MS });
    expect(dead).not.toBeNull();
    const live = createProjector({ db, projections: [projection], holder: 'live', leaseTtlMs: TTL_MS });

    expect((await live.runUntilCaughtUp()).eventsApplied).toBe(0);
    await expireLeases(db, group);
    expect((await live.runUntilCaughtUp()).eventsApplied).toBe(appended.eventIds.length);
    expectExactlyOnceInOrder(await readApplied(db, projection), appended.eventIds);
  });
});

describe('a holder killed mid-batch', () => {
  const context = useProjectionDatabase();

  it('leaves no trace of its batch, and once its lease expires the next holder applies every event once', async () => {
    const { db, store, url } = context();
    const appended = await appendAcrossStreams(store, ['acc-3', 'acc-4'], 30, 10);
    // Visible to every reader from here on: the feed's horizon only moves forward.
    await readThrough(store, START_OF_FEED, appended.checkpoint);
    // The first holder runs as a process of its own, killed like a Lambda that died mid-batch.
    const holder = spawn(process.execPath, ['--import', 'tsx', STALLING_PROJECTOR, url, 'killed', String(TTL_MS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // Not left running if the spec times out before it kills it.
    onTestFinished(() => {
      holder.kill('SIGKILL');
    });
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('in-batch')) resolve();
      });
      holder.once('exit', (code) => {
        reject(new Error(`the stalling projector exited (${String(code)}) before its batch`));
      });
    });
    holder.kill('SIGKILL');
    await once(holder, 'exit');

    const projection = recordingProjection({ name: 'killed', batchSize: 20 });
    const second = createProjector({ db, projections: [projection], holder: 'second', leaseTtlMs: TTL_MS });
    expect((await second.runUntilCaughtUp()).eventsApplied, 'the dead holder\'s lease still stands').toBe(0);
    await expireLeases(db, processorNameOf('killed', 1));
    expect((await second.runUntilCaughtUp()).eventsApplied).toBe(appended.eventIds.length);
    expectExactlyOnceInOrder(await readApplied(db, projection), appended.eventIds);
  });
});

describe('a build partition whose holder died mid-batch', () => {
  const context = useProjectionDatabase();

  it('holds the switch off, its batch left to the takeover, which counts the loss, applies it and then switches', async () => {
    const { db, store } = context();
    const projection = recordingProjection({ name: 'dead_build', partitions: 2 });
    const streamIds = [await streamIdInPartition(db, 0, 2), await streamIdInPartition(db, 1, 2)];
    const appended = await appendAcrossStreams(store, streamIds, 10, 5);
    await readThrough(store, START_OF_FEED, appended.checkpoint);
    const failures: HandlerFailure[] = [];
    const live = createProjector({ db, projections: [projection], holder: 'live', leaseTtlMs: TTL_MS, onHandlerError: (failure) => failures.push(failure) });
    await live.runUntilCaughtUp();
    await rebuildProjection(db, projection);
    // An instance took the build's partition 0 and died in its batch: rolled back, its lease still stands.
    const build = processorNameOf('dead_build', 2);
    expect((await acquirePartitionLease(db, { group: build, partitions: 2, holder: 'dead', ttlMs: TTL_MS }))?.partition).toBe(0);

    const beside = await live.runUntilCaughtUp();

    expect(beside.activated).toEqual([]);
    expect(failures).toEqual([]);
    await expireLeases(db, build);
    const takeover = await live.runUntilCaughtUp();
    expect(takeover.activated).toEqual([{ name: 'dead_build', generation: 2 }]);
    expect(failures.map((failure) => [failure.processor, failure.partition, failure.error.name])).toEqual([[build, 0, 'LeaseRanOutError']]);
    expectExactlyOnceInOrder(await readApplied(db, projection), appended.eventIds);
  });
});
