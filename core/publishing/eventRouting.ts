import { subjectProblem } from '../eventstore';
import { PublisherConfigurationError } from './PublisherConfigurationError';

export const DEFAULT_SUBJECT_PREFIX = 'events';

/** The fields of an event that choose its subject. */
export interface RoutedEvent {
  type: string;
  streamType: string;
  streamId: string;
}

export interface EventRoutingOptions {
  /** First token of every default subject; default "events". */
  prefix?: string;
  /**
   * Overrides the default `<prefix>.<streamType>.<eventType>`: return a subject,
   * `null` to keep the event private (never published), or `undefined` for the default.
   */
  subjectFor?: (event: RoutedEvent) => string | null | undefined;
}

/** Chooses the subject each stored event is published on, or null to keep it private. */
export interface EventRouting {
  subjectFor(event: RoutedEvent): string | null;
}

/** Every stored event goes out on `<prefix>.<streamType>.<eventType>` unless told otherwise. */
export function eventRouting(options: EventRoutingOptions = {}): EventRouting {
  const prefix = options.prefix ?? DEFAULT_SUBJECT_PREFIX;
  // Every default subject starts with it: with a bad one every event would be parked, and a requeue keeps its subject.
  const prefixProblem = subjectProblem(prefix);
  if (prefixProblem !== undefined) throw new PublisherConfigurationError(`routing prefix: ${prefixProblem}`);
  // Called for every event: anything else would fail each one's publishing, retried for ever.
  if (options.subjectFor !== undefined && typeof options.subjectFor !== 'function') throw new PublisherConfigurationError('routing subjectFor must be a function');
  return {
    subjectFor(event) {
      const custom: unknown = options.subjectFor?.(event);
      if (custom === undefined) return `${prefix}.${event.streamType}.${event.type}`;
      if (custom === null || typeof custom === 'string') return custom;
      // Sent as its text, 42 met no stream and was retried for ever as "no responders", and an
      // object went out on whatever its toString said: the code is wrong, as if it threw.
      throw new TypeError(`subjectFor returned ${typeof custom === 'object' ? 'an object' : `a ${typeof custom}`}, not a subject, null or undefined`);
    },
  };
}
