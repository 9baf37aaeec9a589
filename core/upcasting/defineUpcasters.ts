import { MAX_POSTGRES_INTEGER } from '../db';
import type { EventUpcaster, UpcastableEvent } from '../eventstore';
import { UpcastError, UpcasterDefinitionError } from './UpcastError';
import type { UpcastStep } from './UpcastStep';

/** Steps indexed by stored type, then by the version they start from. */
type StepTable = Map<string, Map<number, UpcastStep>>;

function indexSteps(steps: readonly UpcastStep[]): StepTable {
  const table: StepTable = new Map();
  for (const step of steps) {
    // Stored in an integer column: a version past it fails every append of the type, untyped.
    for (const [type, version] of [[step.fromType, step.fromVersion], [step.toType, step.toVersion]] as const) {
      if (!Number.isInteger(version) || version < 1 || version > MAX_POSTGRES_INTEGER) {
        throw new UpcasterDefinitionError(`version ${version} of ${type} must be a whole number from 1 to ${MAX_POSTGRES_INTEGER}`);
      }
    }
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

/** Refuses renames that loop: following each renamed type from one name to the next must end. */
function refuseRenameLoops(renamedTo: ReadonlyMap<string, readonly string[]>): void {
  const done = new Set<string>();
  const visit = (type: string, path: Set<string>) => {
    if (path.has(type)) throw new UpcasterDefinitionError(`Event type renames loop through ${type}`);
    if (done.has(type)) return;
    path.add(type);
    for (const next of renamedTo.get(type) ?? []) visit(next, path);
    path.delete(type);
    done.add(type);
  };
  for (const type of renamedTo.keys()) visit(type, new Set());
}

/**
 * Every name stored for each type: the type itself and every type a chain of
 * renames leads from to it. One stored type can be renamed to several, by
 * version (v1 to B, v2 to C), and is then listed under each of them: a feed
 * filtered on B must read its rows, and drops the ones that upcast to C.
 */
function storedTypesByName(renamedTo: ReadonlyMap<string, readonly string[]>): Map<string, Set<string>> {
  const storedTypes = new Map<string, Set<string>>();
  for (const from of renamedTo.keys()) {
    const reached = new Set<string>();
    const follow = (type: string) => {
      for (const next of renamedTo.get(type) ?? []) {
        if (reached.has(next)) continue;
        reached.add(next);
        follow(next);
      }
    };
    follow(from);
    for (const target of reached) {
      const names = storedTypes.get(target) ?? new Set([target]);
      storedTypes.set(target, names.add(from));
    }
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
  // Each renamed type's new names, and the rename of its newest stored version.
  const renamedTo = new Map<string, string[]>();
  const newestRename = new Map<string, UpcastStep>();
  for (const step of steps) {
    current.set(step.toType, Math.max(current.get(step.toType) ?? 1, step.toVersion));
    if (step.fromType === step.toType) continue;
    const targets = renamedTo.get(step.fromType) ?? [];
    if (!targets.includes(step.toType)) renamedTo.set(step.fromType, [...targets, step.toType]);
    if (step.fromVersion > (newestRename.get(step.fromType)?.fromVersion ?? 0)) newestRename.set(step.fromType, step);
  }
  refuseRenameLoops(renamedTo);
  const storedTypes = storedTypesByName(renamedTo);
  // A renamed type may no longer be written: new events go under the name its newest
  // version took, followed through later renames to one that is current (loops are refused).
  const newestName = (type: string): string | undefined => {
    let step = newestRename.get(type);
    while (step && newestRename.has(step.toType)) step = newestRename.get(step.toType);
    return step?.toType;
  };
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
        ? `${type} was renamed to ${newestName(type) ?? ''} but no step starts at version ${schemaVersion}`
        : `the current version is ${current.get(type) ?? 1} and no step starts at ${schemaVersion}`;
      throw new UpcastError(event.type, event.schemaVersion, event.eventId, reason);
    }
    return { ...event, type, schemaVersion, data };
  };

  // The steps' chain for a stored version, followed by type and version alone.
  const currentTypeOf = (storedType: string, storedVersion: number): string | undefined => {
    let type = storedType;
    let schemaVersion = storedVersion;
    for (let step = table.get(type)?.get(schemaVersion); step; step = table.get(type)?.get(schemaVersion)) {
      type = step.toType;
      schemaVersion = step.toVersion;
    }
    return isCurrent(type, schemaVersion) ? type : undefined;
  };

  return {
    upcast,
    currentTypeOf,
    writeVersion: (type) => {
      const renamed = newestName(type);
      return renamed === undefined ? (current.get(type) ?? 1) : { renamedTo: renamed };
    },
    storedTypesOf: (type) => [...(storedTypes.get(type) ?? [type])],
  };
}
