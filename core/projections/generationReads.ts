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

// Both lists are as readsOf made them (a build's were stored so): sorted and named once.
function sameNames(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((name, index) => name === b[index]);
}

const sameStreamTypes = (a: GenerationReads, b: GenerationReads) => sameNames(a.streamTypes, b.streamTypes);

export const sameReads = (a: GenerationReads, b: GenerationReads) => sameNames(a.eventTypes, b.eventTypes) && sameStreamTypes(a, b);

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
