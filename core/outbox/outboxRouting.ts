import type { OutboxRouting } from '../eventstore';

export const DEFAULT_SUBJECT_PREFIX = 'events';

export interface OutboxRoutingOptions {
  /** First token of every default subject; default "events". */
  prefix?: string;
  /**
   * Overrides the default `<prefix>.<streamType>.<eventType>`: return a subject,
   * `null` to keep the event out of the outbox, or `undefined` for the default.
   */
  subjectFor?: (event: { type: string; streamType: string; streamId: string }) => string | null | undefined;
}

/** Every appended event goes to the outbox on `<prefix>.<streamType>.<eventType>` unless told otherwise. */
export function outboxRouting(options: OutboxRoutingOptions = {}): OutboxRouting {
  const prefix = options.prefix ?? DEFAULT_SUBJECT_PREFIX;
  return {
    subjectFor(event) {
      const custom = options.subjectFor?.(event);
      return custom === undefined ? `${prefix}.${event.streamType}.${event.type}` : custom;
    },
  };
}
