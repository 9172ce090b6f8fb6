import { newId } from "../domain/ids.js";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * Outbox event ids that sort in the order they were made, even within one millisecond: one batch writes
 * several events of one order in one transaction (same `created_at`), and delivery in order per order
 * sorts by id. A ULID whose time did not move is the previous one plus one (ULID's monotonic rule).
 */
export function createMonotonicIds(): () => string {
  let last = "";
  return () => {
    const id = newId();
    if (id > last) return (last = id);
    return (last = increment(last));
  };
}

function increment(id: string): string {
  const chars = id.split("");
  for (let i = chars.length - 1; i >= 10; i--) {
    const v = CROCKFORD.indexOf(chars[i]!);
    if (v < 31) {
      chars[i] = CROCKFORD[v + 1]!;
      return chars.join("");
    }
    chars[i] = "0";
  }
  // 80 random bits overflowed within one ms: take the next millisecond's first id
  return newId(decodeTime(id) + 1).slice(0, 10) + "0".repeat(16);
}

function decodeTime(id: string): number {
  let t = 0;
  for (let i = 0; i < 10; i++) t = t * 32 + CROCKFORD.indexOf(id[i]!);
  return t;
}
