import type { EventUpcaster, UpcastableEvent } from '../eventstore';
import { UpcastError, UpcasterDefinitionError } from './UpcastError';
import type { UpcastStep } from './UpcastStep';

/** Steps indexed by stored type, then by the version they start from. */
type StepTable = Map<string, Map<number, UpcastStep>>;

function indexSteps(steps: readonly UpcastStep[]): StepTable {
  const table: StepTable = new Map();
  for (const step of steps) {
    const versions = table.get(step.fromType) ?? new Map<number, UpcastStep>();
    if (versions.has(step.fromVersion)) {
      throw new UpcasterDefinitionError(`Two upcast steps start at ${step.fromType} version ${step.fromVersion}`);
    }
    if (step.fromType === step.toType && step.toVersion !== step.fromVersion + 1) {
      throw new UpcasterDefinitionError(`The step from ${step.fromType} version ${step.fromVersion} must lead to version ${step.fromVersion + 1}`);
    }
    table.set(step.fromType, versions.set(step.fromVersion, step));
  }
  return table;
}

/** Follows each renamed type to its final name, refusing loops; returns final name -> every name stored for it. */
function resolveRenames(renamedTo: ReadonlyMap<string, string>): Map<string, Set<string>> {
  const storedTypes = new Map<string, Set<string>>();
  for (const [from, to] of renamedTo) {
    const seen = new Set([from]);
    let target = to;
    for (let next = renamedTo.get(target); next !== undefined; next = renamedTo.get(target)) {
      if (seen.has(target)) throw new UpcasterDefinitionError(`Event type renames loop through ${target}`);
      seen.add(target);
      target = next;
    }
    const names = storedTypes.get(target) ?? new Set([target]);
    for (const name of seen) names.add(name);
    storedTypes.set(target, names);
  }
  return storedTypes;
}

/**
 * Builds the upcaster the event store applies on every read. Steps chain
 * (v1 to v2 to v3, renames included) until the event reaches its type's
 * current version: the highest version any step leads to, or 1.
 */
export function defineUpcasters(steps: readonly UpcastStep[]): EventUpcaster {
  const table = indexSteps(steps);
  const current = new Map<string, number>();
  const renamedTo = new Map<string, string>();
  for (const step of steps) {
    current.set(step.toType, Math.max(current.get(step.toType) ?? 1, step.toVersion));
    if (step.fromType !== step.toType) renamedTo.set(step.fromType, step.toType);
  }
  const storedTypes = resolveRenames(renamedTo);
  const isCurrent = (type: string, version: number) => !renamedTo.has(type) && version === (current.get(type) ?? 1);

  const upcast = <E extends UpcastableEvent>(event: E): E => {
    // Most events on a read path are already current: answer those with two lookups.
    if (isCurrent(event.type, event.schemaVersion)) return event;
    let type: string = event.type;
    let schemaVersion = event.schemaVersion;
    let data = event.data;
    for (let step = table.get(type)?.get(schemaVersion); step; step = table.get(type)?.get(schemaVersion)) {
      data = step.transform(data, event.metadata);
      type = step.toType;
      schemaVersion = step.toVersion;
    }
    if (!isCurrent(type, schemaVersion)) {
      const reason = renamedTo.has(type)
        ? `${type} was renamed to ${renamedTo.get(type) ?? ''} but no step starts at version ${schemaVersion}`
        : `the current version is ${current.get(type) ?? 1} and no step starts at ${schemaVersion}`;
      throw new UpcastError(event.type, event.schemaVersion, event.eventId, reason);
    }
    return { ...event, type, schemaVersion, data };
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
