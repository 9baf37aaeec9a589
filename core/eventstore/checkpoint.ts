import * as z from '../schema';
import { EventValidationError } from './errors';

/**
 * A position in the global feed: the writing transaction's id and the event's
 * global position. Feed order is `(txId, position)`, which never skips an event;
 * `position` alone is not a safe cursor (sequence values commit out of order).
 */
export interface Checkpoint {
  txId: bigint;
  position: bigint;
}

export const START_OF_FEED: Checkpoint = Object.freeze({ txId: 0n, position: 0n });

export function compareCheckpoints(a: Checkpoint, b: Checkpoint): number {
  if (a.txId !== b.txId) return a.txId < b.txId ? -1 : 1;
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return 0;
}

/**
 * Where the read after a page starts: after the page's last event, else where
 * the page started; or where a filtered page's walk ended (the visible head, or
 * the end of its window), when the page came short of it, so what the filter
 * left out is not read again.
 */
export function checkpointAfterPage(after: Checkpoint, last: Checkpoint | undefined, walkedTo: Checkpoint | undefined): Checkpoint {
  const end = last ?? after;
  return walkedTo && compareCheckpoints(walkedTo, end) > 0 ? walkedTo : end;
}

/** `"<txId>:<position>"`, for storing a checkpoint as text or sending it in a URL. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  return `${checkpoint.txId}:${checkpoint.position}`;
}

/** The largest transaction id (xid8) and global position (bigint) PostgreSQL holds. */
const MAX_TX_ID = 2n ** 64n - 1n;
const MAX_POSITION = 2n ** 63n - 1n;

/** Whether a value is a checkpoint PostgreSQL can hold: both parts whole, not negative, within xid8 and bigint. */
export function isStorableCheckpoint(checkpoint: unknown): checkpoint is Checkpoint {
  if (typeof checkpoint !== 'object' || checkpoint === null) return false;
  const { txId, position } = checkpoint as Partial<Record<keyof Checkpoint, unknown>>;
  return typeof txId === 'bigint' && typeof position === 'bigint' && txId >= 0n && txId <= MAX_TX_ID && position >= 0n && position <= MAX_POSITION;
}

/** Refuses, as a read's `after`, a value that is no checkpoint PostgreSQL can hold. */
export function checkStorableCheckpoint(checkpoint: unknown): asserts checkpoint is Checkpoint {
  if (!isStorableCheckpoint(checkpoint)) {
    throw new EventValidationError([{ path: 'after', message: 'must be a checkpoint PostgreSQL can hold: a transaction id and a position, whole and not negative' }]);
  }
}

// The text's form first; only text of that form becomes a checkpoint, whose range is checked then.
const CheckpointText = z
  .pipe(
    z.string().check(z.regex(/^\d{1,20}:\d{1,19}$/, 'expected "<txId>:<position>"')),
    z.transform((text: string): Checkpoint => {
      const [txId = '0', position = '0'] = text.split(':');
      return { txId: BigInt(txId), position: BigInt(position) };
    }),
  )
  .check(z.refine(isStorableCheckpoint, 'the transaction id or position is out of range'));

/** A checkpoint from its text (formatCheckpoint's), or EventValidationError saying what is wrong with it. */
export function parseCheckpoint(text: unknown): Checkpoint {
  const parsed = CheckpointText.safeParse(text);
  if (!parsed.success) throw new EventValidationError(parsed.error.issues.map((issue) => ({ path: 'checkpoint', message: issue.message })));
  return parsed.data;
}
