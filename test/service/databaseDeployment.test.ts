import { describe, expect, it } from 'vitest';
import { bankCommands } from '../../core/bank';
import { DEFAULT_DATABASE_DEPLOYMENT, defineService, ServiceDefinitionError, type DatabaseDeployment } from '../../core/service';

const bankWith = (database: Partial<DatabaseDeployment>) => defineService({ name: 'bank', commands: bankCommands, database });

describe("a service's database deployment", () => {
  it('bounds how long its functions wait for the database unless told otherwise', () => {
    expect(bankWith({}).database).toEqual({ driver: 'pg', poolMax: 2, connectTimeoutMs: 5_000, queryTimeoutMs: 10_000 });
    expect(bankWith({ queryTimeoutMs: 0 }).database).toEqual({ ...DEFAULT_DATABASE_DEPLOYMENT, queryTimeoutMs: 0 });
  });

  it('refuses a pool or a bound that is not a whole number in range, naming the setting', () => {
    expect(() => bankWith({ poolMax: 0 })).toThrow(ServiceDefinitionError);
    expect(() => bankWith({ poolMax: 1.5 })).toThrow(/database\.poolMax must be a whole number/);
    expect(() => bankWith({ queryTimeoutMs: -1 })).toThrow(/database\.queryTimeoutMs must be a whole number of milliseconds, 0 for none, not -1/);
    expect(() => bankWith({ connectTimeoutMs: Number.NaN })).toThrow(/database\.connectTimeoutMs/);
  });
});
