import { describe, expect, it } from 'vitest';
import {
  appendToStream,
  ConcurrencyError,
  DuplicateEventError,
  EventValidationError,
  StreamNotFoundError,
  StreamTypeMismatchError,
  type AppendRequest,
} from '../../core/eventstore';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { deposited, opened, uniqueStreamId, withdrawn, type AccountEvent } from '../support/fixtures';

describeOnEachDriver('appendToStream', (context) => {
  const append = (request: AppendRequest<AccountEvent>) => context().store.appendToStream(request);
  const versionsOf = async (streamId: string) =>
    (await context().store.readStream(streamId)).events.map((event) => event.version);

  it('appends several events in one call and returns the new version and each global position', async () => {
    const streamId = uniqueStreamId();
    const result = await append({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened(), deposited(10), withdrawn(3)],
    });

    expect(result.nextExpectedVersion).toBe(3);
    expect(result.events.map((event) => event.version)).toEqual([1, 2, 3]);
    const positions = result.events.map((event) => event.globalPosition);
    expect(positions[0]).toBeLessThan(positions[1] as bigint);
    expect(positions[1]).toBeLessThan(positions[2] as bigint);
    const stored = await context().store.readStream<AccountEvent>(streamId);
    expect(stored.events.map((event) => [event.type, event.data])).toEqual([
      ['AccountOpened', { owner: 'ada', currency: 'EUR' }],
      ['MoneyDeposited', { amount: 10 }],
      ['MoneyWithdrawn', { amount: 3 }],
    ]);
    expect(stored.events.map((event) => event.globalPosition)).toEqual(positions);
  });

  it('returns each event as stored (id, version, position), whether its version was expected or followed the head', async () => {
    const streamId = uniqueStreamId();
    const chosen = crypto.randomUUID().toUpperCase();
    const storedAs = async () => (await context().store.readStream(streamId)).events.map((event) => ({ eventId: event.eventId, version: event.version, globalPosition: event.globalPosition }));

    const exact = await append({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), { ...deposited(10), eventId: chosen }, withdrawn(3)] });
    const afterHead = await append({ streamId, streamType: 'account', expectedVersion: 'any', events: [deposited(1), deposited(2)] });
    const existing = await append({ streamId, streamType: 'account', expectedVersion: 'stream_exists', events: [withdrawn(1)] });

    expect([...exact.events, ...afterHead.events, ...existing.events]).toEqual(await storedAs());
    expect(exact.events[1]?.eventId).toBe(chosen.toLowerCase());
    expect([exact.nextExpectedVersion, afterHead.nextExpectedVersion, existing.nextExpectedVersion]).toEqual([3, 5, 6]);
    expect(existing.checkpoint.position).toBe(existing.events[0]?.globalPosition);
  });

  it('stores metadata: request-wide ids merged into each event, the event winning on conflicts', async () => {
    const streamId = uniqueStreamId();
    await append({
      streamId,
      streamType: 'account',
      expectedVersion: 'any',
      metadata: { correlationId: 'corr-1', causationId: 'cmd-1', commandId: 'cmd-1', traceparent: '00-abc-def-01' },
      events: [opened(), { ...deposited(5), metadata: { causationId: 'evt-0', tenant: 'acme', tags: ['vip'] } }],
    });

    const [first, second] = (await context().store.readStream(streamId)).events;
    expect(first?.metadata).toEqual({
      correlationId: 'corr-1',
      causationId: 'cmd-1',
      commandId: 'cmd-1',
      traceparent: '00-abc-def-01',
    });
    expect(second?.metadata).toEqual({
      correlationId: 'corr-1',
      causationId: 'evt-0',
      commandId: 'cmd-1',
      traceparent: '00-abc-def-01',
      tenant: 'acme',
      tags: ['vip'],
    });
  });

  it('keeps a caller-chosen event id and schema version', async () => {
    const streamId = uniqueStreamId();
    const eventId = '0b9a3f3e-6a8c-4f3b-9d35-0f1e2d3c4b5a';
    await append({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [{ ...opened(), eventId, schemaVersion: 3 }],
    });
    const event = await context().store.readEvent(eventId);
    expect(event).toMatchObject({ eventId, streamId, version: 1, schemaVersion: 3 });
  });

  it('refuses one event id given twice in one append as bad input, in any case, writing nothing and leaving a caller’s transaction usable', async () => {
    const streamId = uniqueStreamId();
    const eventId = crypto.randomUUID();
    const twice = append({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [{ ...opened(), eventId }, { ...deposited(1), eventId: eventId.toUpperCase() }] });
    await expect(twice).rejects.toMatchObject({
      constructor: EventValidationError,
      issues: [{ path: 'events.1.eventId', message: "is the same as events.0's: one append cannot store an event id twice" }],
    });
    // In a caller's transaction, refused before it reaches the database: the transaction goes on.
    const { db, store } = context();
    const appended = await db.transaction(async (tx) => {
      await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [{ ...opened(), eventId }, { ...deposited(1), eventId }] }, tx).catch(() => undefined);
      return store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [{ ...opened(), eventId }] }, tx);
    });
    expect(appended.nextExpectedVersion).toBe(1);
  });

  it('refuses an event id that is already stored, writing nothing', async () => {
    const streamId = uniqueStreamId();
    const eventId = crypto.randomUUID();
    await append({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [{ ...opened(), eventId }] });

    const retry = append({
      streamId,
      streamType: 'account',
      expectedVersion: 1,
      events: [deposited(1), { ...deposited(2), eventId }],
    });
    await expect(retry).rejects.toBeInstanceOf(DuplicateEventError);
    const single = append({ streamId, streamType: 'account', expectedVersion: 1, events: [{ ...deposited(3), eventId }] });
    await expect(single).rejects.toBeInstanceOf(DuplicateEventError);
    expect(await versionsOf(streamId)).toEqual([1]);
    // The refused appends left the stream's version alone: the next append at 1 lands.
    await append({ streamId, streamType: 'account', expectedVersion: 1, events: [deposited(4)] });
    expect(await versionsOf(streamId)).toEqual([1, 2]);
  });

  it('refuses to append to a stream under another stream type', async () => {
    const streamId = uniqueStreamId();
    await append({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const wrongType = append({ streamId, streamType: 'transfer', expectedVersion: 1, events: [deposited(1)] });
    await expect(wrongType).rejects.toMatchObject({
      constructor: StreamTypeMismatchError,
      storedType: 'account',
      requestedType: 'transfer',
    });
    expect(await versionsOf(streamId)).toEqual([1]);
  });

  describe('expected version', () => {
    it('no_stream: creates a new stream, and refuses an existing one with its actual version', async () => {
      const streamId = uniqueStreamId();
      await append({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
      const again = append({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
      await expect(again).rejects.toMatchObject({
        constructor: ConcurrencyError,
        streamId,
        expectedVersion: 'no_stream',
        actualVersion: 2,
      });
      expect(await versionsOf(streamId)).toEqual([1, 2]);
    });

    it('exact 0 means the stream must not exist yet', async () => {
      const streamId = uniqueStreamId();
      await append({ streamId, streamType: 'account', expectedVersion: 0, events: [opened()] });
      await expect(
        append({ streamId, streamType: 'account', expectedVersion: 0, events: [opened()] }),
      ).rejects.toMatchObject({ constructor: ConcurrencyError, expectedVersion: 0, actualVersion: 1 });
    });

    it('exact number: appends only when the stream is at that version', async () => {
      const streamId = uniqueStreamId();
      const first = await append({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
      const second = await append({
        streamId,
        streamType: 'account',
        expectedVersion: first.nextExpectedVersion,
        events: [deposited(5)],
      });
      expect(second.nextExpectedVersion).toBe(2);

      const stale = append({ streamId, streamType: 'account', expectedVersion: 1, events: [withdrawn(5)] });
      await expect(stale).rejects.toMatchObject({ constructor: ConcurrencyError, expectedVersion: 1, actualVersion: 2 });
      const ahead = append({ streamId, streamType: 'account', expectedVersion: 7, events: [withdrawn(5)] });
      await expect(ahead).rejects.toMatchObject({ constructor: ConcurrencyError, expectedVersion: 7, actualVersion: 2 });
      expect(await versionsOf(streamId)).toEqual([1, 2]);
    });

    it('exact number on a stream that does not exist reports actual version 0', async () => {
      const streamId = uniqueStreamId();
      const missing = append({ streamId, streamType: 'account', expectedVersion: 3, events: [deposited(1)] });
      await expect(missing).rejects.toMatchObject({ constructor: ConcurrencyError, expectedVersion: 3, actualVersion: 0 });
      await expect(context().store.readStream(streamId)).rejects.toBeInstanceOf(StreamNotFoundError);
    });

    it('stream_exists: appends to an existing stream whatever its version, refuses a missing one', async () => {
      const streamId = uniqueStreamId();
      const missing = append({ streamId, streamType: 'account', expectedVersion: 'stream_exists', events: [opened()] });
      await expect(missing).rejects.toMatchObject({ constructor: StreamNotFoundError, streamId });
      await expect(context().store.readStream(streamId)).rejects.toBeInstanceOf(StreamNotFoundError);

      await append({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
      const result = await append({
        streamId,
        streamType: 'account',
        expectedVersion: 'stream_exists',
        events: [deposited(1), deposited(2)],
      });
      expect(result.nextExpectedVersion).toBe(3);
    });

    it('any: creates or extends the stream without a check', async () => {
      const streamId = uniqueStreamId();
      await append({ streamId, streamType: 'account', expectedVersion: 'any', events: [opened()] });
      const result = await append({ streamId, streamType: 'account', expectedVersion: 'any', events: [deposited(1)] });
      expect(result.nextExpectedVersion).toBe(2);
      expect(await versionsOf(streamId)).toEqual([1, 2]);
    });

    it('called on its own with a pool, stream_exists and any append on their own, as the store does', async () => {
      const streamId = uniqueStreamId();
      await append({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
      await appendToStream(context().db, { streamId, streamType: 'account', expectedVersion: 'stream_exists', events: [deposited(1)] });
      const result = await appendToStream(context().db, { streamId, streamType: 'account', expectedVersion: 'any', events: [deposited(2)] });
      expect(result.nextExpectedVersion).toBe(3);
      expect(await versionsOf(streamId)).toEqual([1, 2, 3]);
    });

    it('given a pool as its transaction (a Queryable may be one), the store appends on its own there, whatever the expectation', async () => {
      const streamId = uniqueStreamId();
      await append({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });

      for (const [expectedVersion, amount] of [[1, 1], ['any', 2], ['stream_exists', 3]] as const) {
        await context().store.appendToStream({ streamId, streamType: 'account', expectedVersion, events: [deposited(amount)] }, context().db);
      }

      expect(await versionsOf(streamId)).toEqual([1, 2, 3, 4]);
    });
  });
});
