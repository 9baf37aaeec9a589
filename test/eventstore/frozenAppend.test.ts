import { describe, expect, it } from 'vitest';
import type { Db, Queryable, QueryOptions, QueryResult } from '../../core/db';
import { createEventStore, type AppendRequest } from '../../core/eventstore';
import { deferred, deposited, opened, sleep, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const pool = usePooledTestDatabase(3);

/**
 * The pool as a process frozen (a paused VM or container) right after its
 * append's stream lock was answered, inside the store's own transaction,
 * until `thaw`; `frozen` settles once it froze.
 */
function frozenAfterTheStreamLock(db: Db) {
  const frozen = deferred();
  const thawed = deferred();
  let froze = false;
  const inTransaction = (tx: Queryable): Queryable => ({
    query: async <Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<Row>> => {
      const answer = await tx.query<Row>(text, params, options);
      if (!froze && options?.name === 'append_stream_lock') {
        froze = true;
        frozen.resolve();
        await thawed.promise;
      }
      return answer;
    },
  });
  const freezingDb: Db = {
    query: <Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions) => db.query<Row>(text, params, options),
    transaction: (work, options) => db.transaction((tx) => work(inTransaction(tx)), options),
    close: () => db.close(),
  };
  return { db: freezingDb, frozen: frozen.promise, thaw: thawed.resolve };
}

describe('an append in the store’s own transaction (any or stream_exists) whose process freezes between its statements', () => {
  it('holds the stream only until the server ends its idle transaction: another writer then appends, and the frozen append, thawed, stored nothing', async () => {
    const streamId = uniqueStreamId();
    await createEventStore(pool()).appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const request = (amount: number): AppendRequest => ({ streamId, streamType: 'account', expectedVersion: 'any', events: [deposited(amount)] });
    const freezing = frozenAfterTheStreamLock(pool());
    const frozenAppend = createEventStore(freezing.db).appendToStream(request(1)).then(
      () => 'appended',
      (error: unknown) => (error instanceof Error ? error.name : String(error)),
    );
    await freezing.frozen;

    const other = await Promise.race([createEventStore(pool()).appendToStream(request(2)).then(() => 'appended'), sleep(20_000).then(() => 'still waiting')]);
    freezing.thaw();

    expect({ other, frozen: await frozenAppend }).toEqual({ other: 'appended', frozen: 'ConnectionLostError' });
    const { events } = await createEventStore(pool()).readStream(streamId);
    expect(events.map((event) => [event.version, event.data])).toEqual([
      [1, opened().data],
      [2, deposited(2).data],
    ]);
  }, 30_000);
});
