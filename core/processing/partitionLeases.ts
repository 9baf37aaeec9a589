import { undoneAfter, type Queryable } from '../db';
import { hasLoneSurrogate, isAtMostCharacters } from '../text';
import { LeaseRequestError, PartitionLeaseLostError, toLease, type LeaseRow, type PartitionLease } from './PartitionLease';

export interface LeaseRequest {
  group: string;
  partitions: number;
  /** Who asks: an instance id unique to this process (or Lambda invocation). */
  holder: string;
  ttlMs: number;
  /** Partitions not to claim, whether free or not. */
  exclude?: readonly number[];
  /** The one partition to claim, if it is free (a partition held before: its row exists); any free one when unset. */
  only?: number;
}

export const MAX_PARTITIONS = 1024;

/**
 * Whether text can name a holder, a lease group or a processor: non-empty text
 * PostgreSQL stores as it is. It cannot store a NUL, and the driver sends a lone
 * surrogate as U+FFFD, so two names differing in one would share a checkpoint.
 */
export const isStorableName = (name: string): boolean =>
  typeof name === 'string' && name.length > 0 && !name.includes('\u0000') && !hasLoneSurrogate(name);

// partition_leases.lease_group's CHECK (migration 0005).
const MAX_GROUP_CHARACTERS = 200;

/** Whether a processor or lease group can be split into this many partitions. */
export const isPartitionCount = (count: number): boolean => Number.isInteger(count) && count >= 1 && count <= MAX_PARTITIONS;

// The only statement of an acquirer that can wait: on a projection switch making a
// never-leased serving generation's rows to fence them (activateGeneration.ts), until it commits.
const ENSURE_PARTITIONS_SQL = `
  INSERT INTO partition_leases (lease_group, partition)
  SELECT $1, p FROM generate_series(0, $2::integer - 1) AS p
  ON CONFLICT DO NOTHING`;

// Partitions given back come first (their expiry is -infinity): never held, then the one
// held longest ago, so that runs take turns over them (lowest number first would hand a
// run bound by its deadline the same backlogged partition each time, and the others none);
// then those whose holder's time ran out. SKIP LOCKED: concurrent acquirers never wait
// on each other, and each takes a different partition. A row whose holder is still set
// was never given back: its holder's time ran out.
const ACQUIRE_SQL = `
  WITH candidate AS (
    SELECT c.lease_group, c.partition, c.holder AS ran_out_holder FROM partition_leases AS c
    WHERE c.lease_group = $1 AND c.partition < $2 AND c.expires_at < clock_timestamp() AND c.partition <> ALL ($5::integer[])
      AND ($6::integer IS NULL OR c.partition = $6)
    ORDER BY c.expires_at, c.acquired_at NULLS FIRST, c.partition
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
  UPDATE partition_leases AS l
  SET holder = $3, epoch = l.epoch + 1, expires_at = clock_timestamp() + make_interval(secs => $4 / 1000.0),
      acquired_at = clock_timestamp()
  FROM candidate
  WHERE (l.lease_group, l.partition) = (candidate.lease_group, candidate.partition)
  RETURNING l.lease_group, l.partition, l.holder, l.epoch, l.expires_at, candidate.ran_out_holder`;

// Renewed while no one took the partition over (an acquirer moves the epoch), even
// if its time ran out meanwhile: a batch longer than what was left of the lease is
// not a dead holder, and the row lock orders this against an acquirer.
const RENEW_SQL = `
  UPDATE partition_leases AS l
  SET expires_at = clock_timestamp() + make_interval(secs => $5 / 1000.0)
  WHERE l.lease_group = $1 AND l.partition = $2 AND l.holder = $3 AND l.epoch = $4
  RETURNING l.lease_group, l.partition, l.holder, l.epoch, l.expires_at`;

// Given back by this statement, or already (by a try whose answer was lost, or by a
// failed batch's own transaction): free at its epoch. Another holder's lease has another epoch.
const RELEASE_SQL = `
  WITH released AS (
    UPDATE partition_leases SET holder = NULL, expires_at = '-infinity'
    WHERE lease_group = $1 AND partition = $2 AND holder = $3 AND epoch = $4
    RETURNING 1)
  SELECT EXISTS (SELECT FROM released)
    OR EXISTS (SELECT FROM partition_leases WHERE lease_group = $1 AND partition = $2 AND epoch = $4 AND holder IS NULL) AS given_back`;

const THIS_LEASE = 'lease_group = $1 AND partition = $2 AND holder = $3 AND epoch = $4';

const HELD_SQL = `SELECT 1 FROM partition_leases WHERE ${THIS_LEASE} AND expires_at >= clock_timestamp() FOR SHARE`;

// Whether ACQUIRE_SQL would find a partition with work a run could do, without
// claiming it: one whose row is not made yet is free too. Not one of its
// processor's partitions that failed or waits out a backoff, nor a stopped
// processor's: a run that took them would do nothing there. A batch that
// outlasted its lease still holds the row locked, and counts as free here: only
// a lock would tell, and any lock that sees the batch's would make acquirers
// meeting it skip a free partition.
const ANY_FREE_SQL = `
  SELECT NOT EXISTS (SELECT FROM feed_processors f WHERE f.name = $1 AND f.stopped_at IS NOT NULL) AND (
    EXISTS (
      SELECT FROM partition_leases l
      LEFT JOIN processor_partitions p ON p.processor = l.lease_group AND p.partition = l.partition
      WHERE l.lease_group = $1 AND l.partition < $2 AND l.expires_at < clock_timestamp() AND l.partition <> ALL ($3::integer[])
        AND p.state IS DISTINCT FROM 'failed' AND NOT coalesce(p.next_attempt_at > now(), false))
    OR (SELECT count(*) FROM partition_leases WHERE lease_group = $1 AND partition < $2) < $2) AS free`;

// A transactional batch holds its lease row share-locked to its commit, so a held row
// that is not locked has a holder between two batches, or one that died in a batch.
const HELD_OUTSIDE_A_BATCH_SQL = `
  SELECT partition FROM partition_leases WHERE lease_group = $1 AND holder IS NOT NULL
  LIMIT 1 FOR UPDATE SKIP LOCKED`;

// FOR KEY SHARE conflicts with FOR UPDATE (and deletes and key updates, which leases never
// make): it waits for a takeover under way (ACQUIRE_SQL's candidate) to commit, and keeps
// new ones off (they skip the row) while held; batches (FOR SHARE), renewals and releases
// (updates of no key) go on.
const NO_TAKEOVER_UNDER_WAY_SQL = 'SELECT FROM partition_leases WHERE lease_group = $1 FOR KEY SHARE';

const LIST_SQL = `
  SELECT lease_group, partition, holder, epoch, expires_at FROM partition_leases
  WHERE lease_group = $1 ORDER BY partition`;

// A lease may last as long as a watch does (runs bound theirs by Node's timers themselves);
// far longer, now() plus it would not fit a timestamp, and the claim would fail after the rows were made.
const MAX_LEASE_TTL_MS = 1_000 * 365 * 24 * 3_600_000;

function checkTtl(ttlMs: number): void {
  if (!(typeof ttlMs === 'number' && ttlMs > 0 && ttlMs <= MAX_LEASE_TTL_MS)) {
    throw new LeaseRequestError(`ttlMs must be a number of milliseconds above 0 and at most ${MAX_LEASE_TTL_MS} (a thousand years), got ${ttlMs}`);
  }
}

/** Whether a value names one of `partitions` partitions: an integer from 0 to partitions - 1. */
export const isPartitionOf = (partitions: number, partition: unknown): boolean =>
  Number.isInteger(partition) && (partition as number) >= 0 && (partition as number) < partitions;

function validate(request: LeaseRequest): void {
  const { partitions, ttlMs, group, holder, exclude, only } = request;
  if (!isPartitionCount(partitions)) {
    throw new LeaseRequestError(`partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${partitions}`);
  }
  checkTtl(ttlMs);
  // Both are stored as text: a NUL would fail the statement with PostgreSQL's untyped encoding error.
  if (!isStorableName(group) || !isStorableName(holder)) {
    throw new LeaseRequestError('a lease needs a group and a holder, each non-empty text without a NUL or a lone surrogate');
  }
  // The column's CHECK, counted in characters as it counts them: past it, the claim's statement fails untyped.
  if (!isAtMostCharacters(group, MAX_GROUP_CHARACTERS)) throw new LeaseRequestError(`a lease group must be at most ${MAX_GROUP_CHARACTERS} characters`);
  // Array.from, not every() alone: every() skips a hole, which the driver sends as NULL, and
  // `partition <> ALL` of a list with a NULL claims nothing.
  if (exclude !== undefined && !(Array.isArray(exclude) && Array.from(exclude).every((partition) => isPartitionOf(partitions, partition)))) {
    throw new LeaseRequestError(`exclude must be a list of partitions from 0 to ${partitions - 1}, got ${JSON.stringify(exclude)}`);
  }
  if (only !== undefined && !isPartitionOf(partitions, only)) {
    throw new LeaseRequestError(`only must be a partition from 0 to ${partitions - 1}, got ${JSON.stringify(only)}`);
  }
}

/** A lease as acquired: whose lease it replaced, when that holder's time ran out before it gave the partition back. */
export interface AcquiredLease extends PartitionLease {
  /** The holder that never released the partition (its process ended or stalled); null when the partition was free. */
  tookOverFrom: string | null;
  /**
   * This process's monotonic clock (`performance.now()`) just before the lease
   * was asked for: its time runs from no earlier. A drain that begins later
   * (its run counted a lost holder first, or waited for a pooled connection)
   * judges from here when the lease is due for renewal.
   */
  askedAt: number;
}

/**
 * Claims one free or expired partition among the group's lease rows, or
 * returns null when none is free; makes no rows (see acquirePartitionLease).
 */
export async function claimPartitionLease(db: Queryable, request: LeaseRequest): Promise<AcquiredLease | null> {
  validate(request);
  const askedAt = performance.now();
  const { rows } = await db.query<LeaseRow & { ran_out_holder: string | null }>(ACQUIRE_SQL, [
    request.group,
    request.partitions,
    request.holder,
    request.ttlMs,
    request.exclude ?? [],
    request.only ?? null,
  ]);
  const row = rows[0];
  return row ? { ...toLease(row, request.partitions), tookOverFrom: row.ran_out_holder, askedAt } : null;
}

/** Claims one free or expired partition of the group, or returns null when every partition is held. */
export async function acquirePartitionLease(db: Queryable, request: LeaseRequest): Promise<AcquiredLease | null> {
  // The group's rows exist after its first use: only a miss needs to make sure of them.
  const lease = await claimPartitionLease(db, request);
  if (lease || request.only !== undefined) return lease;
  await ensurePartitionLeaseRows(db, request.group, request.partitions);
  return claimPartitionLease(db, request);
}

/** Whether a partition of the group, other than those excluded, is free to claim now and has work a run could do; claims nothing. */
export async function anyPartitionFree(db: Queryable, request: Pick<LeaseRequest, 'group' | 'partitions' | 'exclude'>): Promise<boolean> {
  const { rows } = await db.query<{ free: boolean }>(ANY_FREE_SQL, [request.group, request.partitions, request.exclude ?? []]);
  return rows[0]?.free === true;
}

/** Whether a partition of the group is held by a holder not in a transactional batch now (between two, or dead in one). */
export async function anyPartitionHeldOutsideABatch(tx: Queryable, group: string): Promise<boolean> {
  // In a savepoint, rolled back: the locks are held for the check only, so acquirers are kept off
  // while it looks, not for the rest of the caller's transaction.
  return undoneAfter(tx, 'held_outside_a_batch', async () => {
    await tx.query(NO_TAKEOVER_UNDER_WAY_SQL, [group]);
    const { rows } = await tx.query(HELD_OUTSIDE_A_BATCH_SQL, [group]);
    return rows.length > 0;
  });
}

/** Makes the group's lease rows, free, where they are missing: a group has them once its first lease is taken. */
export async function ensurePartitionLeaseRows(db: Queryable, group: string, partitions: number): Promise<void> {
  await db.query(ENSURE_PARTITIONS_SQL, [group, partitions]);
}

/** Extends a lease no other holder took, even one whose time ran out meanwhile; null once taken over or given back. */
export async function renewPartitionLease(db: Queryable, lease: PartitionLease, ttlMs: number): Promise<PartitionLease | null> {
  checkTtl(ttlMs);
  const { rows } = await db.query<LeaseRow>(RENEW_SQL, [lease.group, lease.partition, lease.holder, lease.epoch.toString(), ttlMs]);
  const row = rows[0];
  return row ? toLease(row, lease.partitions) : null;
}

/**
 * Gives a lease back: true once it is given back (by this call or before it; one whose
 * time merely ran out too), false when another holder took the partition over.
 */
export async function releasePartitionLease(db: Queryable, lease: PartitionLease): Promise<boolean> {
  const { rows } = await db.query<{ given_back: boolean }>(RELEASE_SQL, [lease.group, lease.partition, lease.holder, lease.epoch.toString()]);
  return rows[0]?.given_back ?? false;
}

/**
 * Inside a transaction: throws PartitionLeaseLostError unless the lease is still
 * held. The lease row stays share-locked until the transaction ends, and acquirers
 * skip locked rows, so work fenced this way never overlaps the next holder's.
 */
export async function assertPartitionLeaseHeld(tx: Queryable, lease: PartitionLease): Promise<void> {
  await assertLeaseRow(tx, HELD_SQL, lease);
}

/** Share-locks the lease's row if `sql` finds it, else throws PartitionLeaseLostError. */
async function assertLeaseRow(tx: Queryable, sql: string, lease: PartitionLease): Promise<void> {
  const { rows } = await tx.query(sql, [lease.group, lease.partition, lease.holder, lease.epoch.toString()]);
  if (rows.length === 0) throw new PartitionLeaseLostError(lease);
}

export async function listPartitionLeases(db: Queryable, group: string): Promise<PartitionLease[]> {
  // No group can have such a name: asked for, PostgreSQL would refuse the text itself.
  if (!isStorableName(group)) return [];
  const { rows } = await db.query<LeaseRow>(LIST_SQL, [group]);
  return rows.map((row) => toLease(row, rows.length));
}
