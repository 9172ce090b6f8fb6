import { randomBytes } from "node:crypto";

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
  const r = randomBytes(10);
  let bits = 0n;
  for (const b of r) bits = (bits << 8n) | BigInt(b);
  let rnd = "";
  for (let i = 0; i < 16; i++) {
    rnd = CROCKFORD[Number(bits & 31n)] + rnd;
    bits >>= 5n;
  }
  return out + rnd;
}
