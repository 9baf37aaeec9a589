import { describe, expect, it } from 'vitest';
import { EventValidationError, newEventId } from '../../core/eventstore';
import { millisOfUuidV7, UUID_V7 } from '../support/timeOrderedIds';

describe('newEventId', () => {
  it('makes an id holding the time it is given, a fraction of a millisecond dropped', () => {
    const at = Date.UTC(2026, 11, 5, 20, 0, 0, 7);
    const id = newEventId(at + 0.75);
    expect(id).toMatch(UUID_V7);
    expect(millisOfUuidV7(id)).toBe(at);
  });

  it('makes ids that sort in the order of their times, up to the last millisecond an id holds', () => {
    const ids = [0, Date.UTC(2026, 0, 1), Date.now(), 2 ** 48 - 1].map((at) => newEventId(at));
    expect([...ids].reverse().sort()).toEqual(ids);
    expect(millisOfUuidV7(ids[3] ?? '')).toBe(2 ** 48 - 1);
  });

  it.each([
    ['NaN', Number.NaN],
    ['a time before 1970', -1],
    ['a time past what 48 bits hold', 2 ** 48],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a text', '1764964800000'],
    ['null', null],
  ])('refuses %s, which would make an id sorting before every other', (_, now) => {
    expect(() => newEventId(now as number)).toThrow(EventValidationError);
  });
});
