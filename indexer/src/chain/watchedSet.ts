/**
 * The set of watched deposit addresses of one chain, built to hold 1,000,000 addresses cheaply.
 *
 * Addresses are kept as 20 raw bytes in one growing byte slab (20 MB per million) with an open-addressing
 * table of 32-bit slot numbers over it (load factor <= 0.5, 8 MB per million), instead of a `Set` of
 * 42-character strings (~145 MB per million). Lookups take an address in any hex case, with or without
 * `0x`, or straight from a 32-byte log topic, and parse the hex without allocating.
 */
export type WatchedSet = {
  readonly size: number;
  /** Adds a 20-byte hex address; returns whether it was new. Throws on malformed input. */
  add(address: string): boolean;
  /** Whether the 20-byte hex address (`0x`-prefixed or bare, any case) is watched. */
  has(address: string): boolean;
  /** Whether the address in a 32-byte topic (`0x` + 64 hex, left-padded) is watched. */
  hasTopic(topic: string): boolean;
  /** Every watched address as `0x` + 40 lowercase hex. */
  values(): IterableIterator<string>;
};

const EMPTY = 0;

export function createWatchedSet(initialCapacity = 1024): WatchedSet {
  let capacity = Math.max(16, initialCapacity);
  let keys = new Uint8Array(capacity * 20);
  let size = 0;
  let mask = tableSizeFor(capacity) - 1;
  // slot -> key number + 1 (0 = empty)
  let table = new Uint32Array(mask + 1);
  const scratch = new Uint8Array(20);

  /** Parses 40 hex chars of `s` from `at` into `scratch`; false if any is not hex. */
  function parse(s: string, at: number): boolean {
    for (let i = 0; i < 20; i++) {
      const hi = hexVal(s.charCodeAt(at + 2 * i));
      const lo = hexVal(s.charCodeAt(at + 2 * i + 1));
      if ((hi | lo) < 0) return false;
      scratch[i] = (hi << 4) | lo;
    }
    return true;
  }

  function hashScratch(): number {
    // three words from the start, middle and end, mixed: safe for vanity addresses with leading zeros
    let h = (scratch[0]! | (scratch[1]! << 8) | (scratch[2]! << 16) | (scratch[3]! << 24)) >>> 0;
    h = Math.imul(h ^ (scratch[8]! | (scratch[9]! << 8) | (scratch[10]! << 16) | (scratch[11]! << 24)), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13) ^ (scratch[16]! | (scratch[17]! << 8) | (scratch[18]! << 16) | (scratch[19]! << 24)), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  function equalsKey(k: number): boolean {
    const base = k * 20;
    for (let i = 0; i < 20; i++) if (keys[base + i] !== scratch[i]) return false;
    return true;
  }

  /** Slot holding `scratch`, or the empty slot where it would go (as `~slot`). */
  function find(): number {
    let slot = hashScratch() & mask;
    for (;;) {
      const v = table[slot]!;
      if (v === EMPTY) return ~slot;
      if (equalsKey(v - 1)) return slot;
      slot = (slot + 1) & mask;
    }
  }

  function grow() {
    capacity *= 2;
    const nextKeys = new Uint8Array(capacity * 20);
    nextKeys.set(keys);
    keys = nextKeys;
    mask = tableSizeFor(capacity) - 1;
    table = new Uint32Array(mask + 1);
    for (let k = 0; k < size; k++) {
      scratch.set(keys.subarray(k * 20, k * 20 + 20));
      table[~find()] = k + 1;
    }
  }

  function offsetOf(address: string): number {
    if (address.length === 42 && address.charCodeAt(0) === 48 && (address.charCodeAt(1) | 32) === 120) return 2;
    if (address.length === 40) return 0;
    return -1;
  }

  return {
    get size() {
      return size;
    },
    add(address) {
      const at = offsetOf(address);
      if (at < 0 || !parse(address, at)) throw new TypeError(`Not a 20-byte hex address: "${address}"`);
      if (find() >= 0) return false;
      if (size === capacity) {
        grow(); // rehashing reuses the scratch buffer: parse the address again
        parse(address, at);
      }
      const slot = ~find();
      keys.set(scratch, size * 20);
      table[slot] = ++size;
      return true;
    },
    has(address) {
      const at = offsetOf(address);
      return at >= 0 && parse(address, at) && find() >= 0;
    },
    hasTopic(topic) {
      return topic.length === 66 && parse(topic, 26) && find() >= 0;
    },
    *values() {
      for (let k = 0; k < size; k++) {
        let s = "0x";
        for (let i = 0; i < 20; i++) s += keys[k * 20 + i]!.toString(16).padStart(2, "0");
        yield s;
      }
    },
  };
}

/** Power of two >= 2 * n, so the table stays at most half full. */
function tableSizeFor(n: number): number {
  let t = 16;
  while (t < n * 2) t *= 2;
  return t;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  const l = c | 32;
  if (l >= 97 && l <= 102) return l - 87; // a-f, A-F
  return -1;
}
