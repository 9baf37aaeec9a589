import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { listParkedMessages, ParkedListRequestError, parkMessages } from '../../core/publishing';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDb = usePooledTestDatabase(2);

const parking = (error: string) => ({ messageId: randomUUID(), orderingKey: 'notices', subject: 'notices.sent', error });

describe('the parked list', () => {
  it('given parked messages of both sources, pages through each of them once, oldest first', async () => {
    const parked = [];
    for (let index = 0; index < 5; index++) {
      const message = parking(`refused ${index}`);
      await parkMessages(testDb(), index % 2 === 0 ? 'events' : 'outbox', [message]);
      parked.push(message.messageId);
    }
    const first = await listParkedMessages(testDb(), { limit: 3 });
    const last = first.at(-1);
    const second = await listParkedMessages(testDb(), { limit: 3, ...(last ? { after: last.position } : {}) });
    expect([...first, ...second].map((message) => message.messageId)).toEqual(parked);
  });

  it('given a position with an offset from UTC, starts after that instant', async () => {
    const message = parking('refused later');
    await parkMessages(testDb(), 'outbox', [message]);
    const after = { parkedAt: '2000-01-01T02:00:00.000000+02:00', messageId: randomUUID(), source: 'events' as const };
    const listed = await listParkedMessages(testDb(), { limit: 10_000, after });
    expect(listed.map((parked) => parked.messageId)).toContain(message.messageId);
  });

  it.each([
    ['a limit below 1', { limit: 0 }],
    ['a limit that is not a whole number', { limit: 2.5 }],
    ['a limit that is no number', { limit: Number.NaN }],
    ['a limit above 10,000', { limit: 10_001 }],
    ['a position whose message id is not a UUID', { after: { parkedAt: '2026-12-01T00:00:00.000000Z', messageId: 'nope', source: 'events' as const } }],
    ['a position whose time is not ISO 8601', { after: { parkedAt: 'yesterday', messageId: randomUUID(), source: 'events' as const } }],
    ['a position in the year 0, which PostgreSQL does not have', { after: { parkedAt: '0000-01-01T00:00:00Z', messageId: randomUUID(), source: 'events' as const } }],
    ['a position whose UTC offset PostgreSQL cannot hold (past 15:59)', { after: { parkedAt: '2026-01-01T00:00:00.000000+20:00', messageId: randomUUID(), source: 'events' as const } }],
    ['a position whose source is neither', { after: { parkedAt: '2026-12-01T00:00:00.000000Z', messageId: randomUUID(), source: 'elsewhere' as 'events' } }],
  ])('refuses %s with ParkedListRequestError', async (_, options) => {
    await expect(listParkedMessages(testDb(), options)).rejects.toThrow(ParkedListRequestError);
  });
});
