import { isBatchSize, MAX_BATCH_SIZE } from './batchSize';
import type { Backoff } from './drainPartition';
import type { FailurePolicy } from './failurePolicy';
import type { FeedProcessor } from './FeedProcessor';
import { isPartitionCount, isStorableName, MAX_PARTITIONS } from './partitionLeases';
import { ProcessorDefinitionError } from './ProcessorDefinitionError';
import { isAtMostCharacters } from '../text';

// feed_processors.name's CHECK; a NUL is text PostgreSQL cannot store at all.
const MAX_NAME_LENGTH = 200;
/**
 * Node's timers fire at once past this (a lease, a backoff between
 * interruptions, a publish timeout); a failure's delay is added to now() in
 * PostgreSQL, where one far longer would fail the statement counting it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A run's deadline: epoch ms, or Infinity. NaN (an unset variable added to now) would end a run before its first lease, silently. */
export const isDeadline = (deadline: number): boolean => typeof deadline === 'number' && !Number.isNaN(deadline);

const SOURCE_FUNCTIONS = ['read', 'positionOf', 'idOf', 'lag'] as const;

const isFeedSource = (source: unknown): boolean =>
  typeof source === 'object' && source !== null && SOURCE_FUNCTIONS.every((name) => typeof (source as Record<string, unknown>)[name] === 'function');

/**
 * Refuses a processor's name its records cannot hold, and a partition count it
 * cannot be split into: checked by a run before anything, and by a registration.
 */
export function checkNameAndPartitions(name: string, partitions: number): void {
  // Counted in characters, as the column's CHECK counts them, not UTF-16 units.
  if (!(isStorableName(name) && isAtMostCharacters(name, MAX_NAME_LENGTH))) {
    throw new ProcessorDefinitionError(`${name}: the name must be 1 to ${MAX_NAME_LENGTH} characters without NUL or a lone surrogate`);
  }
  checkPartitions(partitions, name);
}

/** A partition count leases and checkpoints cannot be split into, refused naming its owner. */
export function checkPartitions(partitions: number, owner: string): void {
  if (!isPartitionCount(partitions)) throw new ProcessorDefinitionError(`${owner}: partitions must be an integer from 1 to ${MAX_PARTITIONS}, not ${partitions}`);
}

/** A holder leases cannot be taken in (empty, or with a NUL PostgreSQL cannot store), refused naming its owner. */
export function checkHolder(holder: string, owner: string): void {
  if (!isStorableName(holder)) throw new ProcessorDefinitionError(`${owner}: holder must be a non-empty text without NUL or a lone surrogate`);
}

/** A deadline that is no time, refused naming its owner before it could end a run unseen. */
export function checkDeadline(deadline: number, owner: string): void {
  if (!isDeadline(deadline)) throw new ProcessorDefinitionError(`${owner}: deadline must be a time in epoch ms (or Infinity), not ${deadline}`);
}

const isWhole = (value: number, min: number, max: number) => Number.isSafeInteger(value) && value >= min && value <= max;

const isMs = (value: unknown, min: number): value is number => typeof value === 'number' && value >= min && value <= MAX_TIMER_MS;

// Given from JavaScript or a config file, a processor may lack its policy, or give a
// delay that only compares like a number (true, '1000'): refused here, not as a TypeError
// or as the failure of the statement that would count the first failure.
function policyProblem(policy: unknown): string | undefined {
  if (typeof policy !== 'object' || policy === null) return 'failurePolicy must be an object with maxAttempts, baseDelayMs and maxDelayMs';
  const { maxAttempts, baseDelayMs, maxDelayMs } = policy as Partial<Record<keyof FailurePolicy, unknown>>;
  // Counted in an integer column: NaN or 2.5 would fail the statement that counts the failure, so nothing would be counted.
  if (!(maxAttempts === Number.POSITIVE_INFINITY || (typeof maxAttempts === 'number' && isWhole(maxAttempts, 1, Number.MAX_SAFE_INTEGER)))) {
    return `failurePolicy.maxAttempts must be a whole number of at least 1, or Infinity, not ${String(maxAttempts)}`;
  }
  if (!isMs(baseDelayMs, 0)) return `failurePolicy.baseDelayMs must be from 0 to ${MAX_TIMER_MS} ms, not ${String(baseDelayMs)}`;
  if (!isMs(maxDelayMs, baseDelayMs)) {
    return `failurePolicy.maxDelayMs must be from baseDelayMs (${baseDelayMs}) to ${MAX_TIMER_MS} ms, not ${String(maxDelayMs)}`;
  }
  return undefined;
}

function backoffProblem({ baseMs, maxMs }: Backoff): string | undefined {
  // A base of 0 would retry an interrupted batch in a tight loop until the deadline.
  if (!isMs(baseMs, 1)) return `interruptionBackoff.baseMs must be from 1 to ${MAX_TIMER_MS} ms, not ${String(baseMs)}`;
  if (!isMs(maxMs, baseMs)) return `interruptionBackoff.maxMs must be from baseMs (${baseMs}) to ${MAX_TIMER_MS} ms, not ${String(maxMs)}`;
  return undefined;
}

// PostgreSQL adds it to now() as milliseconds: a time past the timestamp range fails every acquire.
// Text ('30000', from an environment variable) compares as a number would, and failed only at the lease.
function leaseTtlProblem(leaseTtlMs: number): string | undefined {
  return isMs(leaseTtlMs, 1) ? undefined : `leaseTtlMs must be from 1 to ${MAX_TIMER_MS} ms, not ${String(leaseTtlMs)}`;
}

/** A lease time no acquire could take is refused where it is set, not at the first run. */
export function checkLeaseTtl(leaseTtlMs: number, owner: string): void {
  const problem = leaseTtlProblem(leaseTtlMs);
  if (problem) throw new ProcessorDefinitionError(`${owner}: ${problem}`);
}

const HANDLER_MODES: ReadonlySet<unknown> = new Set(['transactional', 'external']);

// Any other mode was run as an external handler, outside a transaction, before the run failed untyped.
function handlerProblem(handler: unknown): string | undefined {
  if (typeof handler !== 'object' || handler === null) return 'handler must be an object with a mode and a handle function';
  const { mode, handle, afterCommit } = handler as { mode?: unknown; handle?: unknown; afterCommit?: unknown };
  if (!HANDLER_MODES.has(mode)) return `handler.mode must be 'transactional' or 'external', not ${String(mode)}`;
  if (typeof handle !== 'function') return 'handler.handle must be a function';
  // Called once a batch has committed: a batch would be applied and its after-commit work never done.
  if (afterCommit !== undefined && typeof afterCommit !== 'function') return 'handler.afterCommit must be a function, when given';
  return undefined;
}

/** A failure policy no statement could count under is refused where it is set, not when the first batch fails. */
export function checkFailurePolicy(policy: FailurePolicy, owner: string): void {
  const problem = policyProblem(policy);
  if (problem) throw new ProcessorDefinitionError(`${owner}: ${problem}`);
}

/**
 * Everything a run is told, checked before it registers or leases anything:
 * a value the database or the timers cannot take would otherwise fail as an
 * untyped error, or (a concurrency of 0) run nothing and say nothing.
 */
export function checkProcessorRun(
  processor: FeedProcessor<unknown>,
  run: { db: unknown; holder: string; concurrency: number; leaseTtlMs: number; deadline: number; interruptionBackoff: Backoff; onFailure?: unknown; onInterrupted?: unknown },
): void {
  const { name, partitions, batchSize } = processor;
  const refuse = (problem: string): never => {
    throw new ProcessorDefinitionError(`${name}: ${problem}`);
  };
  checkNameAndPartitions(name, partitions);
  if (typeof (run.db as { transaction?: unknown } | null | undefined)?.transaction !== 'function') refuse('db must be a database (createPgDb, say)');
  // Reported quietly: anything else was taken, and every report it was meant for lost.
  for (const report of ['onFailure', 'onInterrupted'] as const) {
    if (run[report] !== undefined && typeof run[report] !== 'function') refuse(`${report} must be a function, when given`);
  }
  if (!isFeedSource(processor.source)) refuse('source must be a feed source (eventFeedSource, say): an object with read, positionOf, idOf and lag');
  const maxBatchSize = Math.min(processor.source.maxBatchSize ?? MAX_BATCH_SIZE, MAX_BATCH_SIZE);
  if (!isBatchSize(batchSize) || batchSize > maxBatchSize) refuse(`batchSize must be an integer from 1 to ${maxBatchSize}, not ${batchSize}`);
  const policy = policyProblem(processor.failurePolicy);
  if (policy) refuse(policy);
  const handler = handlerProblem(processor.handler);
  if (handler) refuse(handler);
  // Written into every lease it takes: an empty one is refused by the lease request, a NUL by PostgreSQL, both after registering.
  checkHolder(run.holder, name);
  if (!isWhole(run.concurrency, 1, MAX_PARTITIONS)) refuse(`concurrency must be an integer from 1 to ${MAX_PARTITIONS}, not ${run.concurrency}`);
  const lease = leaseTtlProblem(run.leaseTtlMs);
  if (lease) refuse(lease);
  checkDeadline(run.deadline, name);
  const backoff = backoffProblem(run.interruptionBackoff);
  if (backoff) refuse(backoff);
}
