/**
 * A business rule refused the command (insufficient funds, account closed...).
 * Distinct from technical failures: retrying does not help, and the caller
 * should see `rule` and `message`.
 */
export class DomainError<Rule extends string = string> extends Error {
  readonly code = 'DOMAIN_RULE_VIOLATED';
  constructor(
    readonly rule: Rule,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
