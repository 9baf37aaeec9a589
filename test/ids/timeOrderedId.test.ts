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

  it('are random in every digit after the time, with the RFC 9562 variant in all four of its forms', () => {
    const at = Date.now();
    const tails = Array.from({ length: 2_000 }, () => newTimeOrderedId(at).slice(14).replaceAll('-', ''));
    // The version nibble 7, three random digits, the variant digit, then fifteen random digits.
    const digitsSeen = Array.from({ length: tails[0]?.length ?? 0 }, (_, position) => new Set(tails.map((tail) => tail[position])));
    expect(digitsSeen[0]).toEqual(new Set(['7']));
    expect(digitsSeen[4]).toEqual(new Set(['8', '9', 'a', 'b']));
    for (const [position, seen] of digitsSeen.entries()) if (position !== 0 && position !== 4) expect(seen.size, `digit ${position}`).toBe(16);
  });
});
