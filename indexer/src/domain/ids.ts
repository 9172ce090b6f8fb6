import { randomFillSync } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * A ULID (26 Crockford base32 characters: 48-bit ms time, 80 random bits), the form of seed 003's
 * `payOrderId`. Sortable by creation time; used for order ids and outbox event ids.
 */
export function newId(now: number = Date.now()): string {
  let out = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32] + out;
    t = Math.floor(t / 32);
  }
  // 80 random bits = 16 characters of 5 bits: two 40-bit halves, each exact in a double
  const r = randomChunk(10);
  for (let half = 0; half < 2; half++) {
    let v = 0;
    for (let i = 0; i < 5; i++) v = v * 256 + r[half * 5 + i]!;
    let chars = "";
    for (let i = 0; i < 8; i++) {
      chars = CROCKFORD[v % 32] + chars;
      v = Math.floor(v / 32);
    }
    out += chars;
  }
  return out;
}

// one system call per 4 KiB of randomness instead of one per id (ids are made on every create)
const pool = Buffer.alloc(4096);
let used = pool.length;
function randomChunk(n: number): Buffer {
  if (used + n > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  // a copy, so that a caller never sees bytes another id uses
  const chunk = Buffer.from(pool.subarray(used, used + n));
  used += n;
  return chunk;
}
