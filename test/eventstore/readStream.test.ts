import { expect, it } from 'vitest';
import { EventValidationError, START_OF_FEED, StreamNotFoundError } from '../../core/eventstore';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { readThrough } from '../support/followFeed';
import { deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';

describeOnEachDriver('reading streams and events', (context) => {
  const givenStream = async (deposits: number) => {
    const streamId = uniqueStreamId();
    const amounts = Array.from({ length: deposits }, (_, index) => index + 1);
    await context().store.appendToStream<AccountEvent>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened(), ...amounts.map(deposited)],
    });
    return streamId;
  };

  it('reads a whole stream in version order with its type and current version', async () => {
    const streamId = await givenStream(4);
    const slice = await context().store.readStream<AccountEvent>(streamId);
    expect(slice).toMatchObject({ streamId, streamType: 'account', streamVersion: 5 });
    expect(slice.events.map((event) => event.version)).toEqual([1, 2, 3, 4, 5]);
    expect(slice.events[0]).toMatchObject({ type: 'AccountOpened', streamId, streamType: 'account', schemaVersion: 1 });
    expect(slice.events[0]?.recordedAt).toBeInstanceOf(Date);
  });

  it('gives each event the time the database recorded it, truncated to the millisecond, on every read path', async () => {
    const streamId = uniqueStreamId();
    let last = START_OF_FEED;
    for (let version = 0; version < 20; version += 1) {
      ({ checkpoint: last } = await context().store.appendToStream({
        streamId,
        streamType: 'account',
        expectedVersion: version,
        events: [deposited(1)],
      }));
    }
    const { rows } = await context().db.query<{ event_id: string; ms: string }>(
      'SELECT event_id, floor(extract(epoch FROM recorded_at) * 1000)::text AS ms FROM events WHERE stream_id = $1',
      [streamId],
    );
    const stored = new Map(rows.map((row) => [row.event_id, Number(row.ms)]));

    const slice = await context().store.readStream(streamId);
    expect(new Map(slice.events.map((event) => [event.eventId, event.recordedAt.getTime()]))).toEqual(stored);
    const first = slice.events[0];
    if (!first) throw new Error('the stream has no events');
    expect((await context().store.readEvent(first.eventId))?.recordedAt.getTime()).toBe(stored.get(first.eventId));
    const feed = await readThrough(context().store, { txId: first.txId - 1n, position: 0n }, last);
    const fromFeed = feed.events.filter((event) => event.streamId === streamId);
    expect(new Map(fromFeed.map((event) => [event.eventId, event.recordedAt.getTime()]))).toEqual(stored);
  });

  it('reads a range of versions, inclusive at both ends', async () => {
    const streamId = await givenStream(9);
    const middle = await context().store.readStream(streamId, { fromVersion: 3, toVersion: 6 });
    expect(middle.events.map((event) => event.version)).toEqual([3, 4, 5, 6]);
    expect(middle.streamVersion).toBe(10);

    const tail = await context().store.readStream(streamId, { fromVersion: 8 });
    expect(tail.events.map((event) => event.version)).toEqual([8, 9, 10]);
    const head = await context().store.readStream(streamId, { toVersion: 2 });
    expect(head.events.map((event) => event.version)).toEqual([1, 2]);
  });

  it('returns no events for a range past the end, with the current version', async () => {
    const streamId = await givenStream(1);
    const beyond = await context().store.readStream(streamId, { fromVersion: 5 });
    expect(beyond).toMatchObject({ streamVersion: 2, events: [] });
  });

  it('refuses version bounds that are not integers of at least 1', async () => {
    const streamId = await givenStream(1);
    await expect(context().store.readStream(streamId, { fromVersion: 0 })).rejects.toBeInstanceOf(EventValidationError);
    await expect(context().store.readStream(streamId, { toVersion: 1.5 })).rejects.toBeInstanceOf(EventValidationError);
    const farBeyond = await context().store.readStream(streamId, { fromVersion: Number.MAX_SAFE_INTEGER });
    expect(farBeyond).toMatchObject({ streamVersion: 2, events: [] });
  });

  it('refuses a stream id PostgreSQL cannot store, rather than failing in the database', async () => {
    await expect(context().store.readStream('account-\u0000-1')).rejects.toBeInstanceOf(EventValidationError);
  });

  it('throws StreamNotFoundError for a stream that does not exist', async () => {
    const streamId = uniqueStreamId();
    await expect(context().store.readStream(streamId)).rejects.toMatchObject({
      constructor: StreamNotFoundError,
      streamId,
    });
  });

  it('reads one event by id, or null when there is none', async () => {
    const streamId = await givenStream(2);
    const [, second] = (await context().store.readStream(streamId)).events;
    const found = await context().store.readEvent<AccountEvent>(second?.eventId ?? '');
    expect(found).toEqual(second);
    expect(await context().store.readEvent(crypto.randomUUID())).toBeNull();
    await expect(context().store.readEvent('42')).rejects.toBeInstanceOf(EventValidationError);
  });
});
