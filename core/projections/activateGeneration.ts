import { asDatabaseError, idleTransactionEnded, MAX_POSTGRES_INTEGER, type Db, type Queryable, type TransactionOptions } from '../db';
import { isEventUpcaster, type EventUpcaster } from '../eventstore';
import { anyPartitionHeldOutsideABatch, BatchItemError, catchUpLocked, checkDeadline, ensurePartitionLeaseRows, lockAllPartitions, type FailurePolicy } from '../processing';
import { checkProjectionGiven, type Projection } from './defineProjection';
import { ProjectionDefinitionError } from './errors';
import { generationProcessor } from './generationProcessor';
import { generationRecord, lockProjection, retireGeneration, type Generation } from './generationRecords';
import { checkBuiltShape } from './registerProjection';
import { processorNameOf } from './projectionNames';

const SWITCH_SQL = `
  WITH activated AS (
    UPDATE projection_generations SET status = 'active', activated_at = clock_timestamp()
    WHERE name = $1 AND generation = $2
  )
  UPDATE projections SET active_generation = $2, updated_at = now() WHERE name = $1`;

const ACTIVE_SQL = `SELECT generation, partitions FROM projection_generations WHERE name = $1 AND status = 'active'`;

// The serving generations' leases, taken from their holders: a batch under way ends
// first (it holds its lease row shared); one that starts later finds the epoch moved
// once the switch commits, and writes nothing.
const FENCE_SERVING_SQL = `
  UPDATE partition_leases SET holder = NULL, epoch = epoch + 1, expires_at = '-infinity'
  WHERE lease_group = ANY ($1::text[])`;

/** Whether a call made the switch; when it did, the events its catch-up applied, and in how many batches. */
export type GenerationSwitch = { switched: false } | { switched: true; eventsApplied: number; batches: number };

const NOT_SWITCHED: GenerationSwitch = { switched: false };

/** Batches a switch may run to close the gap that opened since the build last caught up. */
const SWITCH_CATCH_UP_BATCHES = 10;

/**
 * Switches reads to a building generation, in one transaction, only once it
 * is caught up at that moment: a build that reached the head once and fell
 * behind since would make reads step back in time. The transaction locks the
 * build's partitions, fences the serving generation's lease holders (no batch
 * of theirs commits after it), then applies what arrived since the build's
 * last batch (a few batches at most; more, and it rolls back, the fence too,
 * and gives up until the next run), so writers that never pause do not hold
 * the switch off. Every partition must be running. No switch starts, no batch
 * of one, and no statement of one goes on (waiting for a lock, say), at or
 * after `deadline` (epoch ms): it rolls back and gives up. The old generation
 * is retired (its tables stay for a later build to drop). Says whether this
 * call made the switch, and what its catch-up applied.
 */
export async function activateIfCaughtUp(
  db: Db,
  projection: Projection,
  generation: Generation,
  upcaster: EventUpcaster,
  failurePolicy: FailurePolicy,
  deadline = Number.POSITIVE_INFINITY,
): Promise<GenerationSwitch> {
  checkProjectionGiven(projection, 'activateIfCaughtUp');
  // NaN (an unset variable added to now) passes every comparison with the clock, and reached lock_timeout.
  checkDeadline(deadline, projection.name);
  // From plain JavaScript, each failed untyped once the switch had begun to build its catch-up.
  const given = generation as Partial<Generation> | null | undefined;
  if (typeof given?.generation !== 'number' || typeof given.partitions !== 'number') {
    throw new ProjectionDefinitionError(`activateIfCaughtUp needs the generation to switch to, as registerProjection or rebuildProjection returned it`);
  }
  if (!isEventUpcaster(upcaster)) throw new ProjectionDefinitionError('activateIfCaughtUp needs an event upcaster: the store’s, or NO_UPCASTING');
  const processor = generationProcessor(projection, generation, upcaster, failurePolicy);
  const { handler } = processor;
  if (handler.mode !== 'transactional' || Date.now() >= deadline) return NOT_SWITCHED;
  const switching = db.transaction(async (transaction): Promise<GenerationSwitch> => {
    // Every statement, each wait among them, bound afresh by the time left.
    const tx = boundByDeadline(transaction, deadline);
    await lockProjection(tx, projection.name);
    const built = await generationRecord(tx, projection.name, generation.generation);
    if (built?.status !== 'building') return NOT_SWITCHED;
    // Another version's handlers would fill the build's tables, over another split of the feed.
    if (built.version !== projection.version || built.partitions !== projection.partitions) {
      throw new ProjectionDefinitionError(
        `generation ${generation.generation} of ${projection.name} is built by v${built.version} code, over ${built.partitions} partitions; this is v${projection.version} code, over ${projection.partitions}: switch it with its own version's code`,
      );
    }
    // The catch-up splits the feed by the generation given: one that says otherwise than its record would apply events twice.
    if (generation.partitions !== built.partitions) {
      throw new ProjectionDefinitionError(
        `generation ${generation.generation} of ${projection.name} was given as split into ${generation.partitions} partitions; its record says ${built.partitions}: switch it as registerProjection or rebuildProjection returned it`,
      );
    }
    // Its tables and what it reads too, as registration checks them: other handlers would catch the build up from its checkpoint.
    checkBuiltShape(projection, [built]);
    // A build partition leased outside a batch: a live holder between two batches tries
    // the switch itself once done; a holder that died in one left a batch that is the
    // failure policy's to retry and count once the lease runs out, not the switch's to run.
    // The look waits for a takeover under way.
    if (await anyPartitionHeldOutsideABatch(tx, processor.name)) return NOT_SWITCHED;
    // The build's partitions first: another instance's build batch under way ends before the
    // serving generation is fenced, which would otherwise stand still while the switch waits.
    await lockAllPartitions(tx, processor.name);
    // Asked again once those batches ended: a holder that died in the one this waited for
    // left it rolled back, its lease standing, and it is the takeover's to count and run.
    if (await anyPartitionHeldOutsideABatch(tx, processor.name)) return NOT_SWITCHED;
    // Then the serving generation: what it applied before it was fenced, the build's reads
    // below see too (they come after the fence, and the horizon only moves forward).
    const { rows: serving } = await tx.query<{ generation: number; partitions: number }>(ACTIVE_SQL, [projection.name]);
    const leases = serving.map((old) => ({ group: processorNameOf(projection.name, old.generation), partitions: old.partitions }));
    // A generation that never ran has no lease rows yet, and nothing to fence: made here, a
    // first acquirer waits on them until the switch commits, then finds the generation retired.
    for (const { group, partitions } of leases) await ensurePartitionLeaseRows(tx, group, partitions);
    await tx.query(FENCE_SERVING_SQL, [leases.map(({ group }) => group)]);
    let eventsApplied = 0;
    let batches = 0;
    for (let partition = 0; partition < generation.partitions; partition++) {
      const partitionCatchUp = await catchUpLocked(tx, processor, handler, partition, { maxBatches: SWITCH_CATCH_UP_BATCHES, deadline });
      if (!partitionCatchUp.caughtUp) throw new SwitchGivenUp();
      eventsApplied += partitionCatchUp.items;
      batches += partitionCatchUp.batches;
    }
    for (const old of serving) await retireGeneration(tx, projection.name, old.generation);
    await tx.query(SWITCH_SQL, [projection.name, generation.generation]);
    return { switched: true, eventsApplied, batches };
  }, idleBoundByDeadline(deadline));
  // A handler failing on the new events rolls the switch back; the build's next batch records it.
  // So does a lock still held by another at the deadline.
  return switching.catch((error: unknown) => {
    if (error instanceof BatchItemError || error instanceof SwitchGivenUp || AT_THE_DEADLINE.has(asDatabaseError(error)?.code ?? '') || idleTransactionEnded(error)) {
      return NOT_SWITCHED;
    }
    throw error;
  });
}

// A lock not granted in time (lock_timeout), a statement cut off (statement_timeout).
const AT_THE_DEADLINE = new Set(['55P03', '57014']);

// However far off the deadline (none, from a run given none): a switch idle this long is dead.
const MAX_SWITCH_IDLE_MS = 10 * 60_000;

/**
 * A switch idle between two statements for the time left at its start is past
 * its deadline: the server ends it, rolled back. Statement bounds cannot end
 * it then, and a process frozen or hung mid-switch (a handler of its catch-up
 * awaiting what never comes) would otherwise hold the projection's lock, its
 * build's checkpoints, the serving generation's fence and the feed's horizon for good.
 */
function idleBoundByDeadline(deadline: number): TransactionOptions {
  const remainingMs = Math.ceil(deadline - Date.now());
  return { idleTimeoutMs: Math.min(MAX_SWITCH_IDLE_MS, Math.max(1, remainingMs)) };
}

/**
 * Before each of the switch's statements, its waits among them (for the
 * projection's lock, for a takeover under way, for the build's batches under
 * way, then for the serving generation's): the statement ends at the deadline,
 * and the switch with it, rolled back, until a later run. A bound counts from
 * its statement's start, so each is set afresh. Each lock a statement waits for
 * has lock_timeout to itself, so the statement as a whole is bound too.
 */
async function boundToTimeLeft(tx: Queryable, deadline: number): Promise<void> {
  const remainingMs = Math.ceil(deadline - Date.now());
  if (remainingMs <= 0) throw new SwitchGivenUp();
  // The most either setting takes (an integer of ms): a deadline further off is waited for without a bound.
  if (remainingMs > MAX_POSTGRES_INTEGER) return;
  const timeout = `${remainingMs}ms`;
  await tx.query("SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $1, true)", [timeout]);
}

// A rollback to a savepoint is what ends an aborted transaction's wait: every other
// statement before it, the bound's own among them, would fail.
const ROLLBACK = /^\s*ROLLBACK\b/iu;

/**
 * The switch's transaction: each statement (the handlers' too) is given the
 * time then left, so one that starts just before the deadline cannot run past
 * it with what was left at an earlier wait. A round trip more per statement,
 * for the few statements and batches a switch runs.
 */
function boundByDeadline(tx: Queryable, deadline: number): Queryable {
  return {
    async query(text, params, options) {
      if (!ROLLBACK.test(text)) await boundToTimeLeft(tx, deadline);
      return tx.query(text, params, options);
    },
  };
}

/** Rolls back a switch that gives up, fence and all: the serving generation's holders keep their leases. */
class SwitchGivenUp extends Error {}
