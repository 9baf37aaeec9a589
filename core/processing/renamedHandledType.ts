import type { EventUpcaster } from '../eventstore';

/**
 * Why a processor may not handle these types, or undefined: one of them the
 * upcaster renames away. Its stored events reach handlers under the new name,
 * never this one, so such a handler never runs and its processor's filtered
 * reads pass over those events for good: whoever defines the processor refuses it.
 */
export function whyHandledTypeRenamed(upcaster: EventUpcaster, owner: string, types: readonly string[]): string | undefined {
  for (const type of types) {
    const written = upcaster.writeVersion(type);
    if (typeof written === 'number') continue;
    const { renamedTo } = written;
    return `${owner} handles ${type}, which the upcasters rename to ${renamedTo}: its events reach handlers as ${renamedTo}, so handle that type instead`;
  }
  return undefined;
}
