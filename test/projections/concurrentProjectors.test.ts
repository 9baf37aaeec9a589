import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore } from '../../core/eventstore';
import { listPartitionLeases } from '../../core/processing';
import { createProjector, getProjectionStatus, processorNameOf, type Projector } from '../../core/projections';
import { sleep } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import { appendAcrossStreams, expectExactlyOnceInOrder, readApplied, recordingProjection } from './support/recordingProjection';

const INSTANCES = 4;
const PARTITIONS = 4;
const STREAMS = 100;
const EVENTS_PER_STREAM = 100;

describe('four projector instances over four partitions', () => {
  let database: TestDatabase;
  const pools: Db[] = [];
  const connect = (max: number) => {
    const db = createPgDb({ connectionString: database.url, max });
    pools.push(db);
    return db;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.close()));
    await database.drop();
  });

  it(`apply each of ${STREAMS * EVENTS_PER_STREAM} events from ${STREAMS} streams exactly once, in per-stream order, while writers append`, async () => {
    const store = createEventStore(connect(10));
    const streamIds = Array.from({ length: STREAMS }, (_, index) => `account-${index}`);
    // Like separate Lambdas: each instance has its own pool and its own holder id.
    const instances = Array.from({ length: INSTANCES }, (_, index) => {
      const projection = recordingProjection({ partitions: PARTITIONS, batchSize: 250, instance: `instance-${index}` });
      return { projection, projector: createProjector({ db: connect(2), projections: [projection], holder: `instance-${index}` }) };
    });

    let writing = true;
    const writers = appendAcrossStreams(store, streamIds, EVENTS_PER_STREAM, 10).finally(() => {
      writing = false;
    });
    const projectors = instances.map(async ({ projector }) => {
      // Keep running while writers append, then once more to pick up the tail.
      for (let done = false; !done; ) {
        done = !writing;
        await projector.runUntilCaughtUp();
        await sleep(5);
      }
    });
    const committed = (await writers).eventIds;
    await Promise.all(projectors);
    const reader = connect(1);
    const projection = recordingProjection({ partitions: PARTITIONS });
    await runUntilApplied(instances, async () => (await readApplied(reader, projection)).length, committed.length);

    const applied = await readApplied(reader, projection);
    expect(applied).toHaveLength(STREAMS * EVENTS_PER_STREAM);
    expectExactlyOnceInOrder(applied, committed);
    // The work was shared: more than one instance applied events.
    expect(new Set(applied.map((row) => row.instance)).size).toBeGreaterThan(1);

    const [status] = await getProjectionStatus(reader, 'recorded');
    expect(status?.generations[0]?.partitions.map((partition) => [partition.state, partition.lagEvents])).toEqual(
      Array.from({ length: PARTITIONS }, () => ['running', 0]),
    );
    const leases = await listPartitionLeases(reader, processorNameOf('recorded', 1));
    expect(leases).toHaveLength(PARTITIONS);
    expect(leases.every((lease) => lease.holder === '')).toBe(true);
  });
});

/**
 * The feed's horizon is cluster-wide: a transaction held open by another test
 * file can hide the last commits for a moment. Run every instance again until
 * the read model holds all of them, or give up after a while.
 */
async function runUntilApplied(instances: readonly { projector: Projector }[], readCount: () => Promise<number>, expected: number) {
  const deadline = Date.now() + 20_000;
  while ((await readCount()) < expected && Date.now() < deadline) {
    await Promise.all(instances.map(({ projector }) => projector.runUntilCaughtUp()));
    await sleep(20);
  }
}
