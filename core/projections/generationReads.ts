import type { EventUpcaster } from '../eventstore';
import type { Projection } from './defineProjection';

/**
 * What a build reads from the feed: the event types its handlers name and the
 * stream types it is limited to (null: every stream type), each sorted and
 * named once, so that the same names in another order read the same.
 */
export interface GenerationReads {
  eventTypes: readonly string[];
  streamTypes: readonly string[] | null;
}

const namedOnce = (names: readonly string[]) => [...new Set(names)].sort();

export const readsOf = (projection: Projection): GenerationReads => ({
  eventTypes: namedOnce(projection.eventTypes),
  streamTypes: projection.streamTypes ? namedOnce(projection.streamTypes) : null,
});

function sameNames(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  const [once, others] = [namedOnce(a), namedOnce(b)];
  return once.length === others.length && once.every((name, index) => name === others[index]);
}

/**
 * Whether the code's event types differ from the build's only by renames
 * (upcasting's renameEventType, the handler moved to the new name): each type
 * the build read and the code does not is stored under a name the code reads
 * as one of its new types, and each new type reads one of those. The feed
 * then hands the code the same stored events as the build.
 */
function onlyRenamed(built: readonly string[], code: readonly string[], upcaster: EventUpcaster): boolean {
  const gone = built.filter((type) => !code.includes(type));
  const added = code.filter((type) => !built.includes(type));
  const readAs = (type: string) => upcaster.storedTypesOf(type);
  return (
    added.every((type) => gone.some((old) => readAs(type).includes(old))) &&
    gone.every((old) => added.some((type) => readAs(type).includes(old)))
  );
}

const sameStreamTypes = (a: GenerationReads, b: GenerationReads) => sameNames(a.streamTypes, b.streamTypes);

/** Whether code reading `code` would go on from a build that read `built` as a fresh build of it would. */
export const readsMatch = (built: GenerationReads, code: GenerationReads, upcaster: EventUpcaster) =>
  sameStreamTypes(built, code) && (sameNames(built.eventTypes, code.eventTypes) || onlyRenamed(built.eventTypes, code.eventTypes, upcaster));

/**
 * The two reads in words, for a refusal: the event types, and the stream types
 * where those differ.
 */
export function describeChangedReads(built: GenerationReads, code: GenerationReads): { built: string; code: string } {
  const withStreams = !sameStreamTypes(built, code);
  const describe = (reads: GenerationReads) => {
    const types = reads.eventTypes.join(', ');
    if (!withStreams) return types;
    return `${types} of ${reads.streamTypes ? `stream types ${reads.streamTypes.join(', ')}` : 'every stream type'}`;
  };
  return { built: describe(built), code: describe(code) };
}
