import { randomFillSync } from 'node:crypto';

// Random bytes are drawn a pool at a time: one system call per 400 ids, not per id.
const POOL_SIZE = 4_000;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

function randomBytes10(): Buffer {
  if (offset + 10 > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 10);
  offset += 10;
  return bytes;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/**
 * A new event id: a UUID version 7 (RFC 9562), whose first 48 bits are the
 * time in milliseconds. Ids made later sort later, so the unique index on
 * event ids grows at its right edge, like the feed's, instead of touching a
 * random page of a large index on every append.
 */
export function newEventId(now: number = Date.now()): string {
  const random = randomBytes10();
  const bytes = new Array<number>(16);
  for (let index = 0; index < 6; index++) bytes[index] = Math.floor(now / 2 ** (8 * (5 - index))) % 256;
  bytes[6] = 0x70 | ((random[0] ?? 0) & 0x0f);
  bytes[7] = random[1] ?? 0;
  bytes[8] = 0x80 | ((random[2] ?? 0) & 0x3f);
  for (let index = 9; index < 16; index++) bytes[index] = random[index - 6] ?? 0;
  const hex = bytes.map((byte) => HEX[byte] ?? '00').join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
