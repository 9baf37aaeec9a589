import { describe, expect, it } from 'vitest';
import { newTimeOrderedId } from '../../core/ids/timeOrderedId';
import { millisOfUuidV7, UUID_V7 } from '../support/timeOrderedIds';

describe('time-ordered ids', () => {
  it('are UUIDs of version 7 whose first 48 bits are the time in milliseconds', () => {
    const at = Date.UTC(2026, 11, 1, 12, 0, 0, 123);
    const id = newTimeOrderedId(at);
    expect(id).toMatch(UUID_V7);
    expect(millisOfUuidV7(id)).toBe(at);
  });

  it('made a millisecond apart, sort in the order they were made', () => {
    const start = Date.UTC(2026, 0, 1);
    const ids = Array.from({ length: 1_000 }, (_, offset) => newTimeOrderedId(start + offset));
    expect([...ids].sort()).toEqual(ids);
  });

  it('made in the same millisecond, differ', () => {
    const at = Date.now();
    const ids = new Set(Array.from({ length: 10_000 }, () => newTimeOrderedId(at)));
    expect(ids.size).toBe(10_000);
  });
});
