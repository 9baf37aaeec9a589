import { describe, expect, it } from 'vitest';
import { asDatabaseError } from '../../core/db';
import { ConcurrencyError, createEventStore, StreamNotFoundError, type ExpectedVersion } from '../../core/eventstore';
import { deferred, deposited, opened, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(4);

const isolationLevels = ['REPEATABLE READ', 'SERIALIZABLE'] as const;
const expectations: ExpectedVersion[] = [1, 'any', 'stream_exists'];
const cases = isolationLevels.flatMap((isolation) => expectations.map((expectedVersion) => ({ isolation, expectedVersion })));

/** What a refused racer was told: the store's conflict, or PostgreSQL's serialization failure. */
function refusalOf(outcome: PromiseSettledResult<unknown> | undefined): string {
  if (outcome?.status !== 'rejected') return 'stored';
  if (outcome.reason instanceof ConcurrencyError) return 'ConcurrencyError';
  return asDatabaseError(outcome.reason)?.code === '40001' ? 'serialization failure' : String(outcome.reason);
}

describe('two command handlers racing on one stream, each in its own transaction that read the stream first', () => {
  it.each(cases)('at $isolation with expected version $expectedVersion: one append is stored, the other refused as a conflict to retry, and no version is skipped', async ({ isolation, expectedVersion }) => {
    const store = createEventStore(db());
    const streamId = uniqueStreamId();
    await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const read = { first: deferred(), second: deferred() };
    const firstEnded = deferred();
    // Load, decide, append at what was loaded; the second appends once the first has ended.
    const handle = (amount: number, mine: { resolve: () => void }, theirs: { promise: Promise<void> }, after?: Promise<void>) =>
      db().transaction(async (tx) => {
        await tx.query(`SET TRANSACTION ISOLATION LEVEL ${isolation}`);
        await tx.query('SELECT version FROM events WHERE stream_id = $1 ORDER BY version', [streamId]);
        mine.resolve();
        await theirs.promise;
        if (after) await after;
        return store.appendToStream({ streamId, streamType: 'account', expectedVersion, events: [deposited(amount)] }, tx);
      });
    const first = handle(1, read.first, read.second).finally(() => { firstEnded.resolve(); });
    const second = handle(2, read.second, read.first, firstEnded.promise);

    const outcomes = await Promise.allSettled([first, second]);

    expect(refusalOf(outcomes[0])).toBe('stored');
    expect(['ConcurrencyError', 'serialization failure']).toContain(refusalOf(outcomes[1]));
    const { events } = await store.readStream(streamId);
    expect(events.map((event) => [event.version, event.type])).toEqual([[1, 'AccountOpened'], [2, 'MoneyDeposited']]);
  });
});

describe('a caller whose REPEATABLE READ or SERIALIZABLE snapshot predates a stream', () => {
  it.each(isolationLevels)('at %s, appending with stream_exists, is told the stream does not exist, as its snapshot shows it, and stores nothing', async (isolation) => {
    const store = createEventStore(db());
    const streamId = uniqueStreamId();

    const refusal = await db()
      .transaction(async (tx) => {
        await tx.query(`SET TRANSACTION ISOLATION LEVEL ${isolation}`);
        // The transaction's snapshot is taken at its first read.
        await tx.query('SELECT count(*) FROM events WHERE stream_id = $1', [streamId]);
        await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
        return store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'stream_exists', events: [deposited(1)] }, tx);
      })
      .then(() => 'stored', (error: unknown) => error);

    expect(refusal).toBeInstanceOf(StreamNotFoundError);
    expect((await store.readStream(streamId)).events.map((event) => event.type)).toEqual(['AccountOpened']);
  });
});
