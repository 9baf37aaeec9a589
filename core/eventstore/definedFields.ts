import type { EventMetadata } from './types';

/**
 * Metadata without its fields set to `undefined`: JSON leaves such a field
 * out, so it is no field, and merged over the request's metadata (or the
 * request context's ids) it must not take their value away. The object itself
 * when it has none, which is nearly always.
 */
export function definedFields(metadata: EventMetadata | undefined): EventMetadata | undefined {
  if (metadata === undefined || !Object.values(metadata).includes(undefined)) return metadata;
  return Object.fromEntries(Object.entries(metadata).filter(([, value]) => value !== undefined));
}
