import { describe, expect, it } from 'vitest';
import { bankCommands, bankProjections, defineTransferSaga } from '../../core/bank';
import { defineService, ServiceDefinitionError } from '../../core/service';
import { defineUpcasters, renameEventType } from '../../core/upcasting';

// The bank's own pieces, with upcasters that rename a type its processors handle.
const bank = (upcasters: ReturnType<typeof defineUpcasters>) =>
  defineService({ name: 'bank', commands: bankCommands, projections: bankProjections, sagas: [defineTransferSaga()], upcasters });

describe('a service whose projection or saga handles a type its upcasters rename away', () => {
  it('is refused where it is defined, naming the handler and the type its events now carry', () => {
    const renamed = defineUpcasters([renameEventType('MoneyDeposited', 1, { type: 'FundsDeposited' })]);
    expect(() => bank(renamed)).toThrow(ServiceDefinitionError);
    expect(() => bank(renamed)).toThrow(/projection account_summaries handles MoneyDeposited, which the upcasters rename to FundsDeposited/);
  });

  it('is refused for a saga too', () => {
    const renamed = defineUpcasters([renameEventType('TransferRequested', 1, { type: 'TransferOrdered' })]);
    expect(() => bank(renamed)).toThrow(/saga transfer handles TransferRequested, which the upcasters rename to TransferOrdered/);
  });

  it('is accepted when the type it handles is the one an older name is renamed to', () => {
    const intoHandled = defineUpcasters([renameEventType('Deposited', 1, { type: 'MoneyDeposited' })]);
    expect(bank(intoHandled).upcasters?.storedTypesOf('MoneyDeposited')).toEqual(['MoneyDeposited', 'Deposited']);
  });
});
