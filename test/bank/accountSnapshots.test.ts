import { describe, expect, it } from 'vitest';
import { account, accountSnapshots } from '../../core/bank';

describe('the account snapshot policy', () => {
  it('snapshots every 100 events at schema version 1', () => {
    expect(account.snapshots).toBe(accountSnapshots);
    expect(accountSnapshots).toMatchObject({ every: 100, schemaVersion: 1 });
  });

  it('reads a stored state back as it was', () => {
    const state = { status: 'open', owner: 'ada', currency: 'EUR', balance: 1_250 };
    expect(accountSnapshots.fromJson?.(JSON.parse(JSON.stringify(state)))).toEqual(state);
  });

  it.each([
    { status: 'open', owner: 'ada', currency: 'EUR' },
    { status: 'open', owner: 'ada', currency: 'EUR', balance: -1 },
    { status: 'open', owner: 'ada', currency: 'EUR', balance: '12' },
    { status: 'frozen', owner: 'ada', currency: 'EUR', balance: 0 },
    null,
  ])('refuses the stored state %j rather than trust it', (json) => {
    expect(() => accountSnapshots.fromJson?.(json)).toThrow();
  });
});
