import type { EventUpcaster } from '../eventstore';

/**
 * The first of a processor's handled types that the upcaster renames away,
 * with its new name. Its stored events reach handlers under that name, never
 * this one, so such a handler never runs and its processor's filtered reads
 * pass over those events for good: whoever defines the processor refuses it.
 */
export function renamedHandledType(upcaster: EventUpcaster, types: readonly string[]): { type: string; renamedTo: string } | undefined {
  for (const type of types) {
    const written = upcaster.writeVersion(type);
    if (typeof written !== 'number') return { type, renamedTo: written.renamedTo };
  }
  return undefined;
}

/** How a refusal names the handled type and where its events now go. */
export const describeRenamedHandledType = (owner: string, renamed: { type: string; renamedTo: string }): string =>
  `${owner} handles ${renamed.type}, which the upcasters rename to ${renamed.renamedTo}: its events reach handlers as ${renamed.renamedTo}, so handle that type instead`;
