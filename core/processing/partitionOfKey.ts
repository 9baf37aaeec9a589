/**
 * The partition of a key computed in JavaScript (FNV-1a over its UTF-16 code
 * units), for processors that split by something other than the stream, such
 * as a saga's correlation key. Stable across processes and releases: changing
 * it would move keys between partitions under way.
 */
export function partitionOfKey(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index++) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}
