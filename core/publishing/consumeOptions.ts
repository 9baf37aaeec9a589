import { isDb, isIdleTimeoutMs, MAX_POSTGRES_INTEGER, type Db, type Queryable } from '../db';
import { ConsumeOptionsError } from './ConsumeOptionsError';

export interface ConsumeOptions {
  /** How long JetStream waits before delivering a message whose handler failed again; default 1 s. */
  retryDelayMs?: number;
  /**
   * How long the handler's transaction may sit between two statements before the
   * server ends it; default 60 s. A handler hung there (awaiting a call that never
   * answers) would hold the message's lock, and every feed reader's horizon, for as
   * long as its connection lived. Nothing it wrote is kept, and a redelivery waiting
   * on the lock goes on; a handler that then goes on fails with ConnectionLostError.
   */
  idleTimeoutMs?: number;
}

const DEFAULT_RETRY_DELAY_MS = 1_000;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

// The caller's mistake, not the message's: refused before the message is touched, so
// that it comes back for the fixed consumer rather than being terminated as unreadable.
export function checkFunction(name: string, given: unknown): void {
  if (typeof given !== 'function') throw new ConsumeOptionsError(`${name} must be a function, not ${given === null ? 'null' : typeof given}`);
}

/** The message's transaction is the consumer's own: given one already open (a Queryable), there is none to open. */
export function checkPool(db: Db): void {
  const given: unknown = db;
  if (typeof given !== 'object' || given === null || !isDb(given as Queryable)) {
    throw new ConsumeOptionsError('db must be the pool (a Db), not a transaction or a client: the consumer opens its own transaction, so that the effect and the processed record commit together');
  }
}

export function checkedIdleTimeout(options: Pick<ConsumeOptions, 'idleTimeoutMs'>): number {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConsumeOptionsError('options must be an object: { idleTimeoutMs }');
  // Only a bound left out takes the default: a null (a setting read from a config, unset) is refused, as the publisher's are.
  const bound: unknown = options.idleTimeoutMs === undefined ? DEFAULT_IDLE_TIMEOUT_MS : options.idleTimeoutMs;
  if (isIdleTimeoutMs(bound)) return bound;
  const given = typeof bound === 'number' || bound === null ? String(bound) : typeof bound;
  throw new ConsumeOptionsError(`idleTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_POSTGRES_INTEGER}, not ${given}`);
}

/** NaN or a negative delay reaches JetStream as none: a failing handler's message would come back at once, for ever. */
export function checkedRetryDelay(options: ConsumeOptions): number {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConsumeOptionsError('options must be an object: { retryDelayMs }');
  const delay: unknown = options.retryDelayMs === undefined ? DEFAULT_RETRY_DELAY_MS : options.retryDelayMs;
  if (typeof delay === 'number' && Number.isInteger(delay) && delay >= 0 && delay <= MAX_POSTGRES_INTEGER) return delay;
  const given = typeof delay === 'number' || delay === null ? String(delay) : typeof delay;
  throw new ConsumeOptionsError(`retryDelayMs must be a whole number of milliseconds from 0 to ${MAX_POSTGRES_INTEGER}, not ${given}`);
}
