import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../core/eventstore';
import {
  UpcastError,
  UpcasterDefinitionError,
  combine,
  defineUpcasters,
  renameEventType,
  renameField,
  upcastStep,
  addField,
} from '../../core/upcasting';
import { accountUpcasters } from '../support/accountUpcasters';

const stored = (type: string, schemaVersion: number, data: object): RecordedEvent => ({
  eventId: '7d1e0a5e-0000-4000-8000-000000000001',
  streamId: 'account-1',
  streamType: 'account',
  version: 1,
  globalPosition: 1n,
  txId: 1n,
  type,
  schemaVersion,
  data,
  metadata: { correlationId: 'c' },
  recordedAt: new Date(0),
});

describe('upcasters', () => {
  it('chain steps from the stored version to the current one', () => {
    expect(accountUpcasters.upcast(stored('MoneyDeposited', 1, { sum: '12.50' }))).toMatchObject({
      type: 'MoneyDeposited',
      schemaVersion: 4,
      data: { amount: 1250, currency: 'EUR' },
      metadata: { correlationId: 'c' },
    });
    expect(accountUpcasters.upcast(stored('MoneyDeposited', 3, { amount: 99 }))).toMatchObject({
      schemaVersion: 4,
      data: { amount: 99, currency: 'EUR' },
    });
  });

  it('follow a renamed event type into the new type and on through its chain', () => {
    expect(accountUpcasters.upcast(stored('FundsAdded', 1, { sum: '0.07' }))).toMatchObject({
      type: 'MoneyDeposited',
      schemaVersion: 4,
      data: { amount: 7, currency: 'EUR' },
    });
  });

  it('leave current events untouched, and types without steps at version 1', () => {
    const current = stored('MoneyDeposited', 4, { amount: 1, currency: 'USD' });
    expect(accountUpcasters.upcast(current)).toBe(current);
    const other = stored('AccountOpened', 1, { owner: 'ada' });
    expect(accountUpcasters.upcast(other)).toBe(other);
  });

  it('name the type and version of a stored event with no path to the current version', () => {
    const fromTheFuture = () => accountUpcasters.upcast(stored('MoneyDeposited', 9, {}));
    expect(fromTheFuture).toThrow(UpcastError);
    expect(fromTheFuture).toThrow(/MoneyDeposited at schema version 9/);
    expect(() => accountUpcasters.upcast(stored('AccountOpened', 2, {}))).toThrow(/AccountOpened at schema version 2/);
    expect(() => accountUpcasters.upcast(stored('FundsAdded', 2, {}))).toThrow(/FundsAdded at schema version 2.*renamed/);
  });

  it('report the write version of each type, and that renamed types may no longer be written', () => {
    expect(accountUpcasters.writeVersion('MoneyDeposited')).toBe(4);
    expect(accountUpcasters.writeVersion('AccountOpened')).toBe(1);
    expect(accountUpcasters.writeVersion('FundsAdded')).toEqual({ renamedTo: 'MoneyDeposited' });
    expect([...accountUpcasters.storedTypesOf('MoneyDeposited')].sort()).toEqual(['FundsAdded', 'MoneyDeposited']);
    expect(accountUpcasters.storedTypesOf('AccountOpened')).toEqual(['AccountOpened']);
  });

  it('list a stored type under every type its versions were renamed to, so that a feed filtered on either finds it', () => {
    const split = defineUpcasters([renameEventType('Legacy', 1, { type: 'B' }), renameEventType('Legacy', 2, { type: 'C' })]);
    expect([...split.storedTypesOf('B')].sort()).toEqual(['B', 'Legacy']);
    expect([...split.storedTypesOf('C')].sort()).toEqual(['C', 'Legacy']);
    expect(split.upcast(stored('Legacy', 1, {})).type).toBe('B');
    expect(split.upcast(stored('Legacy', 2, {})).type).toBe('C');
    expect(split.writeVersion('Legacy')).toEqual({ renamedTo: 'C' });
    const givenNewestFirst = defineUpcasters([renameEventType('Legacy', 2, { type: 'C' }), renameEventType('Legacy', 1, { type: 'B' })]);
    expect(givenNewestFirst.writeVersion('Legacy')).toEqual({ renamedTo: 'C' });
    const backToB = defineUpcasters([renameEventType('Legacy', 1, { type: 'B' }), renameEventType('Legacy', 2, { type: 'C' }), renameEventType('Legacy', 3, { type: 'B' })]);
    expect(backToB.writeVersion('Legacy')).toEqual({ renamedTo: 'B' });
    const loopThroughTheOlderTarget = () =>
      defineUpcasters([renameEventType('Legacy', 1, { type: 'B' }), renameEventType('Legacy', 2, { type: 'C' }), renameEventType('B', 1, { type: 'Legacy', version: 4 })]);
    expect(loopThroughTheOlderTarget).toThrow(UpcasterDefinitionError);
    const chained = defineUpcasters([renameEventType('A', 1, { type: 'B' }), renameEventType('B', 1, { type: 'C' })]);
    expect([...chained.storedTypesOf('C')].sort()).toEqual(['A', 'B', 'C']);
    expect(chained.writeVersion('A')).toEqual({ renamedTo: 'C' });
  });

  it('tell which type a stored version reads as without running a step, and none for a version with no path', () => {
    expect(accountUpcasters.currentTypeOf('FundsAdded', 1)).toBe('MoneyDeposited');
    expect(accountUpcasters.currentTypeOf('MoneyDeposited', 1)).toBe('MoneyDeposited');
    expect(accountUpcasters.currentTypeOf('MoneyDeposited', 4)).toBe('MoneyDeposited');
    expect(accountUpcasters.currentTypeOf('MoneyDeposited', 9)).toBeUndefined();
    expect(accountUpcasters.currentTypeOf('FundsAdded', 2)).toBeUndefined();
    const split = defineUpcasters([renameEventType('Legacy', 1, { type: 'B' }), renameEventType('Legacy', 2, { type: 'C' })]);
    expect([split.currentTypeOf('Legacy', 1), split.currentTypeOf('Legacy', 2), split.currentTypeOf('B', 1)]).toEqual(['B', 'C', 'B']);
  });

  it('combine several payload changes made in one version', () => {
    const upcasters = defineUpcasters([upcastStep('A', 1, combine(renameField('x', 'y'), addField('z', 0)))]);
    expect(upcasters.upcast(stored('A', 1, { x: 1 })).data).toEqual({ y: 1, z: 0 });
  });

  it('refuse contradictory definitions', () => {
    const twice = () => defineUpcasters([upcastStep('A', 1, addField('x', 1)), upcastStep('A', 1, addField('y', 1))]);
    expect(twice).toThrow(UpcasterDefinitionError);
    const loop = () =>
      defineUpcasters([renameEventType('A', 1, { type: 'B' }), renameEventType('B', 1, { type: 'A' })]);
    expect(loop).toThrow(/loop/);
  });

  it('refuse a version PostgreSQL cannot store (a date-stamped one past an integer), which every append of the type would fail on', () => {
    const dated = () => defineUpcasters([renameEventType('Happened', 1, { type: 'Occurred', version: 202501011200 })]);
    expect(dated).toThrow(UpcasterDefinitionError);
    expect(dated).toThrow('version 202501011200 of Occurred must be a whole number from 1 to 2147483647');
    expect(() => defineUpcasters([upcastStep('A', 0.5, addField('x', 1))])).toThrow('version 0.5 of A must be a whole number from 1 to 2147483647');
  });
});
