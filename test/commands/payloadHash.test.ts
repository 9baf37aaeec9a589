import { describe, expect, it } from 'vitest';
import { payloadHash } from '../../core/commands';

describe('the payload hash that tells a resend from a reused command id', () => {
  it('is the same for the same payload whatever its key order', () => {
    expect(payloadHash('Deposit', { a: 1, b: { c: 2, d: 3 } })).toBe(payloadHash('Deposit', { b: { d: 3, c: 2 }, a: 1 }));
  });

  it('tells payloads apart by their Dates, which JSON.stringify writes but Object.entries sees as empty', () => {
    expect(payloadHash('Schedule', { at: new Date('2026-01-01T00:00:00Z') })).not.toBe(payloadHash('Schedule', { at: new Date('2026-06-01T00:00:00Z') }));
    expect(payloadHash('Schedule', { at: new Date('2026-01-01T00:00:00Z') })).not.toBe(payloadHash('Schedule', { at: '2026-01-01T00:00:00.000Z' }));
  });

  it('hashes a BigInt instead of throwing, distinct from a string of its digits', () => {
    expect(payloadHash('Transfer', { cents: 10n })).not.toBe(payloadHash('Transfer', { cents: 11n }));
    expect(payloadHash('Transfer', { cents: 10n })).not.toBe(payloadHash('Transfer', { cents: '10' }));
  });

  it('tells payloads apart by their Maps and Sets, which JSON.stringify and Object.keys see as empty, whatever their order', () => {
    expect(payloadHash('Tag', { tags: new Set(['a']) })).not.toBe(payloadHash('Tag', { tags: new Set(['b', 'c']) }));
    expect(payloadHash('Tag', { tags: new Set(['a', 'b']) })).toBe(payloadHash('Tag', { tags: new Set(['b', 'a']) }));
    expect(payloadHash('Tag', { tags: new Set(['a']) })).not.toBe(payloadHash('Tag', { tags: ['a'] }));
    expect(payloadHash('Price', { byItem: new Map([['x', 1]]) })).not.toBe(payloadHash('Price', { byItem: new Map([['y', 2]]) }));
    expect(payloadHash('Price', { byItem: new Map([['x', 1], ['y', 2]]) })).toBe(payloadHash('Price', { byItem: new Map([['y', 2], ['x', 1]]) }));
  });

  it('tells an array holding undefined, or a hole, from an empty one, as JSON writes them (null)', () => {
    // eslint-disable-next-line no-sparse-arrays -- a hole, as a JavaScript caller may leave one
    const holed = [, 'a'];
    expect(payloadHash('Tag', { labels: [undefined] })).not.toBe(payloadHash('Tag', { labels: [] }));
    expect(payloadHash('Tag', { labels: [undefined] })).toBe(payloadHash('Tag', { labels: [null] }));
    expect(payloadHash('Tag', { labels: holed })).not.toBe(payloadHash('Tag', { labels: ['a'] }));
    expect(payloadHash('Tag', { labels: holed })).toBe(payloadHash('Tag', { labels: [null, 'a'] }));
  });

  it('stays the value stored before: a record written by an earlier release still answers its resend', () => {
    // Taken with the earlier implementation (a Hash object fed the type, a newline and the canonical JSON).
    expect(payloadHash('Deposit', { amount: 100, accountId: 'a-1' })).toBe('dbcd4680721c4fd0799c1e826d794fd4d87fd9d2da40fbb772c9c0148fcbe0a8');
    expect(payloadHash('OpenAccount', { owner: 'Zoë 🙂', currency: 'EUR', accountId: 'a-1' })).toBe('8c61dcec48cb5d4733bdcacee9e94b77e17e8d8e16851e50df48ab439e064219');
    // Nested arrays of objects, fields left undefined, upper-case keys sorting before lower-case ones.
    const order = { lines: [{ sku: 'b', qty: 2 }, { qty: 1, sku: 'a', note: undefined }], customer: undefined, 'z-key': null, Zed: true };
    expect(payloadHash('PlaceOrder', order)).toBe('c2324ae52df83214f600e88a211a1c78b4c26f3cd3ac140c764bc330fdc738c9');
  });
});
