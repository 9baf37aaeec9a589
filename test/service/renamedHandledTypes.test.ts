import { describe, expect, it } from 'vitest';
import { accountSummaries, bankCommands, bankProjections, defineTransferSaga } from '../../core/bank';
import { createCommandBus } from '../../core/commands';
import { createProjector, ProjectionDefinitionError } from '../../core/projections';
import { createSagaRuntime, SagaDefinitionError } from '../../core/sagas';
import { defineService, ServiceDefinitionError } from '../../core/service';
import { defineUpcasters, renameEventType } from '../../core/upcasting';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(1);

// The bank's own pieces, with upcasters that rename a type its processors handle.
const bank = (upcasters: ReturnType<typeof defineUpcasters>) =>
  defineService({ name: 'bank', commands: bankCommands, projections: bankProjections, sagas: [defineTransferSaga()], upcasters });

const depositsRenamed = defineUpcasters([renameEventType('MoneyDeposited', 1, { type: 'FundsDeposited' })]);
const requestsRenamed = defineUpcasters([renameEventType('TransferRequested', 1, { type: 'TransferOrdered' })]);

describe('a projection or saga that handles a type its upcasters rename away', () => {
  it('is refused where its service is defined, naming the handler and the type its events now carry', () => {
    expect(() => bank(depositsRenamed)).toThrow(ServiceDefinitionError);
    expect(() => bank(depositsRenamed)).toThrow(/projection account_summaries handles MoneyDeposited, which the upcasters rename to FundsDeposited/);
    expect(() => bank(requestsRenamed)).toThrow(/saga transfer handles TransferRequested, which the upcasters rename to TransferOrdered/);
  });

  it('is refused by a projector or saga runtime made with those upcasters, without a service', () => {
    const db = testDatabase();
    expect(() => createProjector({ db, projections: [accountSummaries], upcaster: depositsRenamed })).toThrow(ProjectionDefinitionError);
    expect(() => createProjector({ db, projections: [accountSummaries], upcaster: depositsRenamed })).toThrow(/projection account_summaries handles MoneyDeposited/);
    const bus = createCommandBus({ db, commands: [] });
    expect(() => createSagaRuntime({ db, bus, sagas: [defineTransferSaga()], upcaster: requestsRenamed })).toThrow(SagaDefinitionError);
  });

  it('is accepted when the type it handles is the one an older name is renamed to', () => {
    const intoHandled = defineUpcasters([renameEventType('Deposited', 1, { type: 'MoneyDeposited' })]);
    expect(bank(intoHandled).upcasters?.storedTypesOf('MoneyDeposited')).toEqual(['MoneyDeposited', 'Deposited']);
    expect(() => createProjector({ db: testDatabase(), projections: [accountSummaries], upcaster: intoHandled })).not.toThrow();
  });
});
