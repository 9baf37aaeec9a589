import { NO_UPCAST_PATH } from '../eventstore';

/** A stored event whose type and schema version have no path to the current shape. */
export class UpcastError extends Error {
  readonly code = NO_UPCAST_PATH;
  constructor(
    readonly eventType: string,
    readonly schemaVersion: number,
    readonly eventId: string,
    reason: string,
  ) {
    super(`Cannot upcast ${eventType} at schema version ${schemaVersion} (event ${eventId}): ${reason}`);
    this.name = 'UpcastError';
  }
}

/** The steps given to `defineUpcasters` contradict each other. */
export class UpcasterDefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpcasterDefinitionError';
  }
}
