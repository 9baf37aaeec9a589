import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import {
  acquirePartitionLease,
  assertPartitionLeaseHeld,
  holdingLeases,
  LeaseRequestError,
  listPartitionLeases,
  PartitionLeaseLostError,
  releasePartitionLease,
  renewPartitionLease,
} from '../../core/processing';
import { expireLeases } from '../support/expireLeases';
import { deferred, sleep } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPgDb({ connectionString: database.url, max: 10 });
});

afterAll(async () => {
  await db.close();
  await database.drop();
});

let groups = 0;
const newGroup = () => `group-${++groups}`;

/** Waits until the group's leases have run out by the database's clock; reading does not wait for a share-locked row. */
async function untilExpired(group: string): Promise<void> {
  const giveUpAt = Date.now() + 30_000;
  for (;;) {
    const { rows } = await db.query<{ expired: boolean }>('SELECT bool_and(expires_at < clock_timestamp()) AS expired FROM partition_leases WHERE lease_group = $1', [group]);
    if (rows[0]?.expired) return;
    if (Date.now() > giveUpAt) throw new Error(`the leases of ${group} did not run out`);
    await sleep(50);
  }
}

describe('partition leases', () => {
  it('hands each partition to one holder at a time, then has nothing left to give', async () => {
    const group = newGroup();
    const request = { group, partitions: 3, ttlMs: 60_000 };
    const leases = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((holder) => acquirePartitionLease(db, { ...request, holder })),
    );
    const granted = leases.filter((lease) => lease !== null);
    expect(granted.map((lease) => lease.partition).sort()).toEqual([0, 1, 2]);
    expect(new Set(granted.map((lease) => lease.holder)).size).toBe(3);
    expect(await acquirePartitionLease(db, { ...request, holder: 'f' })).toBeNull();
  });

  it('gives an expired partition to the next holder with a higher epoch, and fences off the old one', async () => {
    const group = newGroup();
    const first = await acquirePartitionLease(db, { group, partitions: 1, holder: 'first', ttlMs: 60_000 });
    expect(first).not.toBeNull();
    if (!first) return;
    expect(await acquirePartitionLease(db, { group, partitions: 1, holder: 'second', ttlMs: 60_000 })).toBeNull();
    await expireLeases(db, group);
    const second = await acquirePartitionLease(db, { group, partitions: 1, holder: 'second', ttlMs: 60_000 });
    expect(second).toMatchObject({ partition: 0, holder: 'second' });
    expect(second?.epoch).toBe(first.epoch + 1n);

    expect(await renewPartitionLease(db, first, 60_000)).toBeNull();
    await expect(db.transaction((tx) => assertPartitionLeaseHeld(tx, first))).rejects.toBeInstanceOf(PartitionLeaseLostError);
    if (second) await db.transaction((tx) => assertPartitionLeaseHeld(tx, second));
  });

  it('renews a held lease past its first expiry', async () => {
    const group = newGroup();
    // Margins that hold on a loaded two-core runner: renewed well before its first 1.5 s run out, checked well after.
    const lease = await acquirePartitionLease(db, { group, partitions: 1, holder: 'keeper', ttlMs: 1_500 });
    if (!lease) throw new Error('no lease');
    const renewed = await renewPartitionLease(db, lease, 60_000);
    expect(renewed?.expiresAt.getTime()).toBeGreaterThan(lease.expiresAt.getTime());
    await sleep(2_000);
    expect(await acquirePartitionLease(db, { group, partitions: 1, holder: 'thief', ttlMs: 1000 })).toBeNull();
  });

  it('frees a released partition at once, and a stale release does not free the next holder', async () => {
    const group = newGroup();
    const lease = await acquirePartitionLease(db, { group, partitions: 1, holder: 'one', ttlMs: 60_000 });
    if (!lease) throw new Error('no lease');
    await releasePartitionLease(db, lease);
    const next = await acquirePartitionLease(db, { group, partitions: 1, holder: 'two', ttlMs: 60_000 });
    expect(next).toMatchObject({ holder: 'two' });
    await releasePartitionLease(db, lease);
    expect(await acquirePartitionLease(db, { group, partitions: 1, holder: 'three', ttlMs: 60_000 })).toBeNull();
    expect(await listPartitionLeases(db, group)).toMatchObject([{ partition: 0, holder: 'two' }]);
  });

  it('lets no one take over while a transaction fenced by the current lease runs, even past expiry', async () => {
    const group = newGroup();
    // Time enough for the fenced work to start on a loaded runner. It cannot be expired by SQL
    // instead: the work share-locks the lease row, which an UPDATE would wait for.
    const lease = await acquirePartitionLease(db, { group, partitions: 1, holder: 'slow', ttlMs: 3_000 });
    if (!lease) throw new Error('no lease');
    const fenced = deferred();
    const release = deferred();
    const fencedWork = db.transaction(async (tx) => {
      await assertPartitionLeaseHeld(tx, lease);
      fenced.resolve();
      await release.promise;
    });
    try {
      await fenced.promise;
      await untilExpired(group);
      expect(await acquirePartitionLease(db, { group, partitions: 1, holder: 'next', ttlMs: 60_000 })).toBeNull();
    } finally {
      release.resolve();
      await fencedWork;
    }
    expect(await acquirePartitionLease(db, { group, partitions: 1, holder: 'next', ttlMs: 60_000 })).toMatchObject({ holder: 'next' });
  });

  it('splits streams over partitions with one stable function that the SQL side owns', async () => {
    const { rows } = await db.query<{ partition: number; streams: string }>(
      `SELECT stream_partition('account-' || n, 4) AS partition, count(*)::text AS streams
       FROM generate_series(1, 4000) AS n GROUP BY 1 ORDER BY 1`,
    );
    expect(rows.map((row) => row.partition)).toEqual([0, 1, 2, 3]);
    for (const row of rows) expect(Number(row.streams)).toBeGreaterThan(800);
    // Stable across processes, releases and servers: these streams were in these partitions when the
    // function was written, and a change that moved them would move live streams under way.
    const pinned: Array<[string, number, number]> = [
      ['account-1', 4, 0],
      ['account-17', 4, 0],
      ['transfer-9', 4, 1],
      ['order-x', 4, 3],
      ['account-é', 4, 2],
      ['account-1', 1024, 852],
      ['account-17', 1024, 568],
      ['transfer-9', 1024, 1001],
    ];
    const { rows: computed } = await db.query<{ partition: number }>(
      'SELECT stream_partition(s, n) AS partition FROM unnest($1::text[], $2::integer[]) WITH ORDINALITY AS pinned (s, n, i) ORDER BY i',
      [pinned.map(([streamId]) => streamId), pinned.map(([, partitions]) => partitions)],
    );
    expect(computed.map((row) => row.partition)).toEqual(pinned.map(([, , partition]) => partition));
  });

  it('holds every lease it granted until the work ends, then releases them all, also when the work fails', async () => {
    const group = newGroup();
    const request = { group, partitions: 2, holder: 'runner', ttlMs: 60_000 };
    const granted = await holdingLeases(db, request, async (leases) => {
      const first = await leases.acquire();
      const second = await leases.acquire();
      expect(await leases.acquire()).toBeNull();
      expect(await acquirePartitionLease(db, { ...request, holder: 'other' })).toBeNull();
      return [first?.partition, second?.partition].sort();
    });
    expect(granted).toEqual([0, 1]);
    await expect(
      holdingLeases(db, request, async (leases) => {
        await leases.acquire();
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    const other = await acquirePartitionLease(db, { ...request, holder: 'other' });
    expect(other).toMatchObject({ holder: 'other' });
    expect(await acquirePartitionLease(db, { ...request, holder: 'other' })).toMatchObject({ holder: 'other' });
  });

  it('gives a drained partition back at once, for others, and does not claim it again itself', async () => {
    const group = newGroup();
    const request = { group, partitions: 2, holder: 'runner', ttlMs: 60_000 };
    await holdingLeases(db, request, async (leases) => {
      const first = await leases.acquire();
      if (!first) throw new Error('nothing granted');
      await leases.drained(first);
      const second = await leases.acquire();
      expect(second?.partition).toBe(1 - first.partition);
      expect(await leases.acquire()).toBeNull();
      expect(await acquirePartitionLease(db, { ...request, holder: 'other' })).toMatchObject({ partition: first.partition, holder: 'other' });
    });
  });

  it('asked whether a partition is free, while other instances claim and give back partitions, makes none of them miss a free one', async () => {
    const group = newGroup();
    const request = { group, partitions: 1, holder: 'claimer', ttlMs: 60_000 };
    let asking = true;
    // Another instance at its deadline, asking what it left free.
    const asker = holdingLeases(db, { ...request, holder: 'asker' }, async (leases) => {
      while (asking) await leases.anyLeftFree();
    });
    let missed = 0;
    try {
      for (let claim = 0; claim < 300; claim++) {
        const lease = await acquirePartitionLease(db, request);
        if (lease) await releasePartitionLease(db, lease);
        else missed += 1;
      }
    } finally {
      asking = false;
      await asker;
    }
    expect(missed).toBe(0);
  });

  it('refuses a request without sensible partitions or ttl', async () => {
    await expect(acquirePartitionLease(db, { group: 'g', partitions: 0, holder: 'h', ttlMs: 1 })).rejects.toBeInstanceOf(LeaseRequestError);
    await expect(acquirePartitionLease(db, { group: 'g', partitions: 2, holder: 'h', ttlMs: 0 })).rejects.toBeInstanceOf(LeaseRequestError);
    expect(await listPartitionLeases(db, 'g')).toEqual([]);
    // Counted in characters, as the column counts them: 200 emoji (400 UTF-16 units) are taken.
    expect(await acquirePartitionLease(db, { group: '\u{1F4A7}'.repeat(200), partitions: 1, holder: 'h', ttlMs: 1_000 })).not.toBeNull();
  });

  it('refuses a holder or group PostgreSQL cannot store, or that is empty, or a group over 200 characters, with a LeaseRequestError and no rows', async () => {
    for (const [group, holder] of [['g', ''], ['g', 'h\u0000'], ['', 'h'], ['g\u0000', 'h'], ['g'.repeat(201), 'h']] as const) {
      const request = acquirePartitionLease(db, { group, partitions: 2, holder, ttlMs: 1_000 });
      await expect(request, JSON.stringify([group, holder])).rejects.toThrow(LeaseRequestError);
    }
    expect(await listPartitionLeases(db, 'g')).toEqual([]);
  });

  it('refuses a lease time past what a timestamp holds, and excluded or only partitions that are no partitions, before writing a row', async () => {
    const request = { group: 'bad-requests', partitions: 2, holder: 'h', ttlMs: 1_000 };
    for (const bad of [{ ttlMs: 1e16 }, { ttlMs: '1000' }, { exclude: [0.5] }, { exclude: 'one' }, { exclude: [2] }, { exclude: new Array<number>(1) }, { only: 'one' }, { only: -1 }, { only: 2 }]) {
      await expect(acquirePartitionLease(db, { ...request, ...(bad as object) }), JSON.stringify(bad)).rejects.toThrow(LeaseRequestError);
    }
    expect(await listPartitionLeases(db, 'bad-requests')).toEqual([]);
  });

  it('refuses a renewal for no time, or for a time gone by, and keeps the lease as it was', async () => {
    const lease = await acquirePartitionLease(db, { group: 'bad-renewals', partitions: 1, holder: 'h', ttlMs: 60_000 });
    if (!lease) throw new Error('no lease');
    for (const ttlMs of [undefined, -3_600_000, 0, Number.NaN, 1e16]) {
      await expect(renewPartitionLease(db, lease, ttlMs as unknown as number), String(ttlMs)).rejects.toThrow(LeaseRequestError);
    }
    expect(await acquirePartitionLease(db, { group: 'bad-renewals', partitions: 1, holder: 'other', ttlMs: 60_000 })).toBeNull();
  });

  it('refuses a group or holder with a lone surrogate, which PostgreSQL would store as another name', async () => {
    for (const [group, holder] of [['lone-\ud800', 'h'], ['g', 'h-\udc00']] as const) {
      await expect(acquirePartitionLease(db, { group, partitions: 1, holder, ttlMs: 1_000 }), JSON.stringify([group, holder])).rejects.toThrow(LeaseRequestError);
    }
    expect(await listPartitionLeases(db, 'lone-\ufffd')).toEqual([]);
  });

  it('lists no leases for a group PostgreSQL could not store', async () => {
    expect(await listPartitionLeases(db, 'g\u0000')).toEqual([]);
  });
});
