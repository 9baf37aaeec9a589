import { randomFillSync } from 'node:crypto';

// Random bytes drawn ahead from the CSPRNG, 4 KB at a time: a command makes several
// random ids (its own, its events', its trace's), and drawing the bytes of each
// separately would call into OpenSSL every time.
const pool = new Uint8Array(4096);
let next = pool.length;

/** Draws `count` fresh random bytes (at most 4,096) and returns where they start, for `randomByteAt`. */
export function takeRandomBytes(count: number): number {
  if (next + count > pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const at = next;
  next += count;
  return at;
}

/** A byte that `takeRandomBytes` drew. */
export const randomByteAt = (index: number): number => pool[index] ?? 0;

// Each byte's two hex digits, looked up rather than formatted.
const HEX_OF_BYTE: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** A byte's two hex digits (its low eight bits). */
export const hexOfByte = (byte: number): string => HEX_OF_BYTE[byte & 0xff] ?? '00';

/** The hex of `byteCount` bytes that `takeRandomBytes` drew, from `at`. */
export function randomHexAt(at: number, byteCount: number): string {
  let hex = '';
  for (let index = at; index < at + byteCount; index++) hex += hexOfByte(randomByteAt(index));
  return hex;
}

/** `byteCount` fresh random bytes as lowercase hex. */
export const randomHex = (byteCount: number): string => randomHexAt(takeRandomBytes(byteCount), byteCount);
