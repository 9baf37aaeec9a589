/** A processor, or a run of one, defined with something no run could work with: refused before anything is registered or leased. */
export class ProcessorDefinitionError extends Error {
  readonly code = 'INVALID_PROCESSOR';
  constructor(message: string) {
    super(message);
    this.name = 'ProcessorDefinitionError';
  }
}
