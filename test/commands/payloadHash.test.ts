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
});
