import type { Address } from "viem";
import { DepositKind, depositAddressesLower } from "../domain/depositAddress.js";
import type { Db } from "./db.js";

/**
 * Growth of a merchant's payment-address pool on one chain (keys 0, 1, 2, … with no gaps; table
 * `address_pool`, counter `address_pool_counters`). Creates lease from the pool in SQL; this module adds
 * addresses to it. Deposit addresses are CREATE2 results, so TypeScript computes them (about 15 µs each),
 * in slices that yield to the event loop, so a growth never stalls the requests in flight.
 *
 * One growth at a time per database handle and pool: creates that find the pool empty wait for the one
 * growth in progress instead of each computing a batch, and a create that leases near the top of the pool
 * tops it up in the background, so under steady load creates do not wait for growth at all.
 */
export type PoolRef = {
  merchantId: bigint;
  chainId: number;
  vault: Address;
  initCodeHash: `0x${string}`;
};

/** Addresses added to a pool each time it grows (at least). */
export const POOL_GROW_BATCH = 16;

/**
 * How many addresses to add to a pool of `size`: {POOL_GROW_BATCH}, or a quarter of the pool once that
 * is more (at most 1024). A busy merchant's pool then grows in a few dozen steps instead of one step per
 * 16 orders; a pool never holds more than a quarter more addresses than it ever needed at once.
 */
export function growthBatch(size: bigint): bigint {
  const quarter = size / 4n;
  return quarter < BigInt(POOL_GROW_BATCH) ? BigInt(POOL_GROW_BATCH) : quarter > 1024n ? 1024n : quarter;
}

/** per pool: the growth in progress, the counter last seen, the creates waiting for addresses */
type PoolState = { growing?: Promise<void>; next?: bigint; waiting: number };
const pools = new WeakMap<Db, Map<string, PoolState>>();

function stateOf(db: Db, pool: PoolRef): PoolState {
  let m = pools.get(db);
  if (!m) pools.set(db, (m = new Map()));
  const key = `${pool.merchantId}:${pool.chainId}`;
  let s = m.get(key);
  if (!s) m.set(key, (s = { waiting: 0 }));
  return s;
}

/**
 * Grows the pool from key `from` (the counter the caller saw) by `size` (default {growthBatch}, and at
 * least one address per create waiting for this growth); resolves when the addresses are in, or when a
 * concurrent grower moved the counter first (the caller then looks again). Joins a growth already in
 * progress in this process.
 */
export async function growPaymentPool(db: Db, pool: PoolRef, from: bigint, size?: bigint): Promise<void> {
  const s = stateOf(db, pool);
  s.waiting++;
  try {
    // the creates that found the pool empty in this turn of the event loop go into one batch
    await new Promise((r) => setImmediate(r));
    const want = size ?? growthBatch(from);
    await (s.growing ?? track(s, () => addBatch(db, pool, s, from, want > BigInt(s.waiting) ? want : BigInt(s.waiting))));
  } finally {
    s.waiting--;
  }
}

/**
 * Called after a create leased key `leasedIndex`: when that is in the top half of the last batch this
 * process knows of, and the pool has fewer free rested addresses than half a batch, grows it in the
 * background. Returned addresses count as free, so a quiet merchant's pool does not creep upwards.
 */
export function topUpPaymentPool(db: Db, pool: PoolRef, leasedIndex: bigint): void {
  const s = stateOf(db, pool);
  if (s.growing || s.next === undefined || leasedIndex < s.next - growthBatch(s.next) / 2n) return;
  track(s, async () => {
    const [row] = await db.query<{ next: string | null; free: string }>(
      `SELECT (SELECT next_index FROM address_pool_counters WHERE merchant_id = $1 AND chain_id = $2) AS next,
              (SELECT count(*) FROM address_pool WHERE merchant_id = $1 AND chain_id = $2 AND order_id IS NULL AND available_at <= now()) AS free`,
      [pool.merchantId, pool.chainId],
    );
    const next = row?.next == null ? 0n : BigInt(row.next);
    s.next = next;
    if (BigInt(row!.free) < growthBatch(next) / 2n) await addBatch(db, pool, s, next, growthBatch(next));
  }).catch(() => {
    // a top-up is only ahead of time: if it fails, the next create that finds the pool empty grows it
  });
}

async function addBatch(db: Db, pool: PoolRef, s: PoolState, from: bigint, size: bigint) {
  const addresses = await poolAddresses(pool, from, size);
  const [row] = await db.query<{ next: string }>("SELECT grow_address_pool($1::bigint, $2::bigint, $3::bigint, $4::text[]) AS next", [
    pool.merchantId,
    pool.chainId,
    from,
    addresses,
  ]);
  s.next = BigInt(row!.next);
}

/** Runs `work` as the pool's one growth in progress. */
function track(s: PoolState, work: () => Promise<void>): Promise<void> {
  const p = work().finally(() => {
    if (s.growing === p) s.growing = undefined;
  });
  s.growing = p;
  return p;
}

/** Payment deposit addresses for pool keys `first` .. `first + size - 1`, lowercase. */
export async function poolAddresses(pool: Omit<PoolRef, "chainId">, first: bigint, size: bigint): Promise<string[]> {
  const addresses: string[] = [];
  // slices of 64 (about 1 ms of hashing), then let the requests in flight go on
  for (let from = first; from < first + size; from += 64n) {
    const count = Number(first + size - from < 64n ? first + size - from : 64n);
    addresses.push(
      ...depositAddressesLower({
        vault: pool.vault,
        merchantId: pool.merchantId,
        kind: DepositKind.Payment,
        first: from,
        count,
        initCodeHash: pool.initCodeHash,
      }),
    );
    if (from + 64n < first + size) await new Promise((r) => setImmediate(r));
  }
  return addresses;
}
