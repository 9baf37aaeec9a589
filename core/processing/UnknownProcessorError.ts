/**
 * A processor name no run or registration has recorded: most often a typo.
 * Answering it with nothing to do would read as "nothing failed".
 */
export class UnknownProcessorError extends Error {
  readonly code = 'UNKNOWN_PROCESSOR';
  constructor(readonly processors: readonly string[]) {
    super(`no feed processor is registered as ${processors.map((name) => JSON.stringify(name)).join(', ')}`);
    this.name = 'UnknownProcessorError';
  }
}
