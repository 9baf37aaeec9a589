import { ProjectionDefinitionError } from './errors';

/**
 * Projection and table names become parts of SQL identifiers: lower-case
 * letters and digits in words joined by single underscores, short enough that
 * `<projection>__<table>_g<generation>` fits PostgreSQL's 63 bytes. With no
 * double underscore inside a name, the `__` between the two is unambiguous, so
 * two projections never share a table.
 */
const IDENTIFIER = /^[a-z](?:_?[a-z0-9])*$/;
const MAX_LENGTH = { projection: 30, table: 20 } as const;
const MAX_GENERATION = 999_999_999;

// From plain JavaScript a name may be no text: the pattern would test undefined as "undefined".
const isIdentifier = (kind: 'projection' | 'table', name: unknown): name is string =>
  typeof name === 'string' && IDENTIFIER.test(name) && name.length <= MAX_LENGTH[kind];

/** Whether a name could be a projection's: no name that is not (a NUL in it, say) was ever registered. */
export const isProjectionName = (name: unknown): name is string => isIdentifier('projection', name);

export function checkIdentifier(kind: 'projection' | 'table', name: string): void {
  if (!isIdentifier(kind, name)) {
    throw new ProjectionDefinitionError(
      `${kind} name ${JSON.stringify(name)} must be 1-${MAX_LENGTH[kind]} lower-case letters and digits, starting with a letter, words joined by single underscores`,
    );
  }
}

/** The table one generation of a projection writes, e.g. `account_summary__accounts_g3`: each build owns its tables. */
export function generationTableName(projection: string, base: string, generation: number): string {
  checkIdentifier('projection', projection);
  checkIdentifier('table', base);
  if (!Number.isInteger(generation) || generation < 1 || generation > MAX_GENERATION) {
    throw new ProjectionDefinitionError(`generation must be an integer from 1 to ${MAX_GENERATION}, got ${generation}`);
  }
  return `${projection}__${base}_g${generation}`;
}

/** The quoted identifier; names are validated already, quoting keeps reserved words safe. */
export const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** The tables of one generation, by base name, as quoted identifiers ready for SQL text. */
export type TableNames<Table extends string> = { readonly [Name in Table]: string };

export function tableNamesOf<Table extends string>(
  projection: string,
  bases: readonly Table[],
  generation: number,
): TableNames<Table> {
  return Object.fromEntries(
    bases.map((base) => [base, quoteIdentifier(generationTableName(projection, base, generation))]),
  ) as TableNames<Table>;
}

/** The feed processor that builds one generation: its checkpoints' and its leases' key. */
export const processorNameOf = (name: string, generation: number): string => `projection:${name}:g${generation}`;
