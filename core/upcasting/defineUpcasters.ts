import type { EventUpcaster, RecordedEvent } from '../eventstore';
import { UpcastError, UpcasterDefinitionError } from './UpcastError';
import type { UpcastStep } from './UpcastStep';

const keyOf = (type: string, version: number) => `${type}@${version}`;

/**
 * Builds the upcaster the event store applies on every read. Steps chain
 * (v1 to v2 to v3, renames included) until the event reaches its type's
 * current version: the highest version any step leads to, or 1.
 */
export function defineUpcasters(steps: readonly UpcastStep[]): EventUpcaster {
  const byOrigin = new Map<string, UpcastStep>();
  const current = new Map<string, number>();
  const renamedTo = new Map<string, string>();
  const storedTypes = new Map<string, Set<string>>();

  for (const step of steps) {
    const key = keyOf(step.fromType, step.fromVersion);
    if (byOrigin.has(key)) throw new UpcasterDefinitionError(`Two upcast steps start at ${key}`);
    if (step.fromType === step.toType && step.toVersion !== step.fromVersion + 1) {
      throw new UpcasterDefinitionError(`Step from ${key} must lead to version ${step.fromVersion + 1}`);
    }
    byOrigin.set(key, step);
    current.set(step.toType, Math.max(current.get(step.toType) ?? 1, step.toVersion));
    if (step.fromType !== step.toType) renamedTo.set(step.fromType, step.toType);
  }
  for (const [from, to] of renamedTo) {
    let target = to;
    const seen = new Set([from]);
    while (renamedTo.has(target)) {
      if (seen.has(target)) throw new UpcasterDefinitionError(`Event type renames loop through ${target}`);
      seen.add(target);
      target = renamedTo.get(target) ?? target;
    }
    for (const type of seen) {
      storedTypes.set(target, (storedTypes.get(target) ?? new Set([target])).add(type));
    }
  }

  const upcast = (event: RecordedEvent): RecordedEvent => {
    let { type, schemaVersion, data } = event;
    for (let step = byOrigin.get(keyOf(type, schemaVersion)); step; step = byOrigin.get(keyOf(type, schemaVersion))) {
      data = step.transform(data, event.metadata);
      type = step.toType;
      schemaVersion = step.toVersion;
    }
    if (renamedTo.has(type) || schemaVersion !== (current.get(type) ?? 1)) {
      const reason = renamedTo.has(type)
        ? `${type} was renamed to ${renamedTo.get(type) ?? ''} but no step starts at version ${schemaVersion}`
        : `the current version is ${current.get(type) ?? 1} and no step starts at ${schemaVersion}`;
      throw new UpcastError(event.type, event.schemaVersion, event.eventId, reason);
    }
    return type === event.type && schemaVersion === event.schemaVersion ? event : { ...event, type, schemaVersion, data };
  };

  return {
    upcast,
    writeVersion: (type) => {
      const renamed = renamedTo.get(type);
      return renamed === undefined ? (current.get(type) ?? 1) : { renamedTo: renamed };
    },
    storedTypesOf: (type) => [...(storedTypes.get(type) ?? [type])],
  };
}
