import type { Deposit, Outflow, VaultEvent } from "../chain/decode.js";
import { CursorMovedError } from "../chain/errors.js";
import type { Db, Queryable, Row } from "./db.js";

/**
 * Queries for the chain follower's tables (migrations/050_chain.sql): the cursor, the kept block window,
 * raw deposits and vault events. Writes take a transaction's `Queryable` so a block, its rows and the
 * cursor move commit together.
 */

export type BlockRef = { number: bigint; hash: string; parentHash: string };
export type Cursor = { number: bigint; hash: string };
export type ConfirmationStatus = "seen" | "confirmed";
/**
 * A row of chain_deposits. `absorbedBy`: the 'balance' row that had already reported this transfer's money
 * (such a row is evidence only, never reported to the hooks).
 */
export type StoredDeposit = Deposit & { id: bigint; status: ConfirmationStatus; absorbedBy?: bigint | null };
export type StoredVaultEvent = VaultEvent & { id: bigint; status: ConfirmationStatus };

export type ChainState = { cursor: Cursor | undefined; blocks: BlockRef[]; confirmedNumber: bigint };

export async function loadChainState(db: Queryable, chainId: number): Promise<ChainState> {
  const [c] = await db.query("SELECT block_number, block_hash, confirmed_number FROM chain_cursors WHERE chain_id = $1", [chainId]);
  const blocks = await db.query(
    "SELECT block_number, block_hash, parent_hash FROM chain_blocks WHERE chain_id = $1 ORDER BY block_number",
    [chainId],
  );
  return {
    cursor: c ? { number: BigInt(c.block_number), hash: c.block_hash } : undefined,
    blocks: blocks.map((b) => ({ number: BigInt(b.block_number), hash: b.block_hash, parentHash: b.parent_hash })),
    confirmedNumber: c ? BigInt(c.confirmed_number) : -1n,
  };
}

/** Creates the cursor at `anchor` (the block before the first one to ingest) unless one exists. */
export async function initCursor(db: Queryable, chainId: number, anchor: BlockRef): Promise<void> {
  await db.query(
    "INSERT INTO chain_cursors (chain_id, block_number, block_hash, confirmed_number) VALUES ($1, $2, $3, $2) ON CONFLICT DO NOTHING",
    [chainId, anchor.number, anchor.hash],
  );
  await insertBlocks(db, chainId, [anchor]);
}

/**
 * Moves the cursor from `expected` to `next`, refusing with {CursorMovedError} if another writer moved it:
 * the row lock also serialises two followers of one chain.
 */
export async function moveCursor(tx: Queryable, chainId: number, expected: Cursor, next: Cursor, head?: bigint): Promise<void> {
  const [row] = await tx.query("SELECT block_number, block_hash FROM chain_cursors WHERE chain_id = $1 FOR UPDATE", [chainId]);
  if (!row || BigInt(row.block_number) !== expected.number || row.block_hash !== expected.hash) {
    throw new CursorMovedError(chainId, `${expected.number}/${expected.hash}`, row ? `${row.block_number}/${row.block_hash}` : "none");
  }
  await tx.query(
    `UPDATE chain_cursors SET block_number = $2, block_hash = $3, head_number = GREATEST(head_number, COALESCE($4, head_number)),
       updated_at = now() WHERE chain_id = $1`,
    [chainId, next.number, next.hash, head ?? null],
  );
}

export async function insertBlocks(tx: Queryable, chainId: number, blocks: BlockRef[]): Promise<void> {
  if (blocks.length === 0) return;
  await tx.query(
    `INSERT INTO chain_blocks (chain_id, block_number, block_hash, parent_hash)
     SELECT $1::bigint, * FROM unnest($2::bigint[], $3::text[], $4::text[])
     ON CONFLICT (chain_id, block_number) DO UPDATE SET block_hash = EXCLUDED.block_hash, parent_hash = EXCLUDED.parent_hash`,
    [chainId, blocks.map((b) => b.number.toString()), blocks.map((b) => b.hash), blocks.map((b) => b.parentHash)],
  );
}

const DEPOSIT_COLUMNS =
  "id, chain_id, block_number, block_hash, tx_hash, log_index, token, from_address, to_address, amount, source, status, absorbed_by";

/**
 * Inserts deposits, skipping any already recorded (same chain, tx hash, log index); returns the new ones.
 * `status` 'confirmed' is for rows already at the required depth when written (historical sync): the caller
 * reports them as seen and confirmed in the same transaction.
 */
export async function insertDeposits(tx: Queryable, deposits: Deposit[], status: ConfirmationStatus = "seen"): Promise<StoredDeposit[]> {
  if (deposits.length === 0) return [];
  const rows = await tx.query(
    `INSERT INTO chain_deposits (chain_id, block_number, block_hash, tx_hash, log_index, token, from_address, to_address, amount, source, status, confirmed_at)
     SELECT *, $11::text, CASE WHEN $11::text = 'confirmed' THEN now() END
     FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::numeric[], $10::text[])
     ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING
     RETURNING ${DEPOSIT_COLUMNS}`,
    [
      deposits.map((d) => d.chainId),
      deposits.map((d) => d.blockNumber.toString()),
      deposits.map((d) => d.blockHash),
      deposits.map((d) => d.txHash),
      deposits.map((d) => d.logIndex),
      deposits.map((d) => d.token),
      deposits.map((d) => d.from),
      deposits.map((d) => d.to),
      deposits.map((d) => d.amount.toString()),
      deposits.map((d) => d.source),
      status,
    ],
  );
  return rows.map(toDeposit).sort(byPosition);
}

const EVENT_COLUMNS = "id, chain_id, block_number, block_hash, tx_hash, log_index, name, args, status";

export async function insertVaultEvents(
  tx: Queryable,
  events: VaultEvent[],
  status: ConfirmationStatus = "seen",
): Promise<StoredVaultEvent[]> {
  if (events.length === 0) return [];
  const rows = await tx.query(
    `INSERT INTO chain_vault_events (chain_id, block_number, block_hash, tx_hash, log_index, name, args, status, confirmed_at)
     SELECT *, $8::text, CASE WHEN $8::text = 'confirmed' THEN now() END
     FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::int[], $6::text[], $7::jsonb[])
     ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING
     RETURNING ${EVENT_COLUMNS}`,
    [
      events.map((e) => e.chainId),
      events.map((e) => e.blockNumber.toString()),
      events.map((e) => e.blockHash),
      events.map((e) => e.txHash),
      events.map((e) => e.logIndex),
      events.map((e) => e.name),
      events.map((e) => JSON.stringify(e.args)),
      status,
    ],
  );
  return rows.map(toVaultEvent).sort(byPosition);
}

/** Records what left watched addresses, skipping rows already there. */
export async function insertOutflows(tx: Queryable, outflows: readonly Outflow[]): Promise<void> {
  if (outflows.length === 0) return;
  await tx.query(
    `INSERT INTO chain_outflows (chain_id, block_number, block_hash, tx_hash, log_index, token, from_address, to_address, amount, source)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::numeric[], $10::text[])
     ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING`,
    [
      outflows.map((o) => o.chainId),
      outflows.map((o) => o.blockNumber.toString()),
      outflows.map((o) => o.blockHash),
      outflows.map((o) => o.txHash),
      outflows.map((o) => o.logIndex),
      outflows.map((o) => o.token),
      outflows.map((o) => o.from),
      outflows.map((o) => o.to),
      outflows.map((o) => o.amount.toString()),
      outflows.map((o) => o.source),
    ],
  );
}

/**
 * Deletes every derived row above `ancestor` (deposits, vault events, outflows, kept blocks); returns what
 * went. `deposits` are the rows the hooks were told of (absorbed rows never were); `all` every deleted
 * deposit. A deleted 'balance' row no longer stands for the transfers it absorbed below the ancestor:
 * those are `released` (their `absorbed_by` cleared) so the caller reports them now.
 */
export async function deleteAbove(
  tx: Queryable,
  chainId: number,
  ancestor: bigint,
): Promise<{ deposits: StoredDeposit[]; vaultEvents: StoredVaultEvent[]; all: StoredDeposit[]; released: StoredDeposit[] }> {
  const deleted = (
    await tx.query(`DELETE FROM chain_deposits WHERE chain_id = $1 AND block_number > $2 RETURNING ${DEPOSIT_COLUMNS}`, [chainId, ancestor])
  ).map(toDeposit);
  const events = await tx.query(`DELETE FROM chain_vault_events WHERE chain_id = $1 AND block_number > $2 RETURNING ${EVENT_COLUMNS}`, [
    chainId,
    ancestor,
  ]);
  await tx.query("DELETE FROM chain_outflows WHERE chain_id = $1 AND block_number > $2", [chainId, ancestor]);
  await tx.query("DELETE FROM chain_blocks WHERE chain_id = $1 AND block_number > $2", [chainId, ancestor]);
  const balanceIds = deleted.filter((d) => d.source === "balance").map((d) => d.id.toString());
  const released = balanceIds.length
    ? await tx.query(
        `UPDATE chain_deposits SET absorbed_by = NULL WHERE chain_id = $1 AND absorbed_by = ANY($2::bigint[]) RETURNING ${DEPOSIT_COLUMNS}`,
        [chainId, balanceIds],
      )
    : [];
  return {
    deposits: deleted.filter((d) => d.absorbedBy == null).sort(byPosition),
    vaultEvents: events.map(toVaultEvent).sort(byPosition),
    all: deleted.sort(byPosition),
    released: released.map(toDeposit).sort(byPosition),
  };
}

/**
 * Matches newly written real transfers against 'balance' rows that already reported an amount at the same
 * address and token (the safety net found the money first; the log or trace came later, e.g. by a rescan):
 * a transfer at or below a balance row's block whose whole amount fits in what is left of that row is
 * absorbed by it (`absorbed_by`, and the row's `absorbed_amount` grows), earliest row first. Returns the ids
 * absorbed: those transfers must not be reported, their money was. One indexed probe when no balance row is open.
 */
export async function absorbIntoBalanceDeposits(tx: Queryable, chainId: number, rows: readonly StoredDeposit[]): Promise<Set<bigint>> {
  const real = rows.filter((r) => r.source !== "balance");
  if (real.length === 0) return new Set();
  const [any] = await tx.query(
    "SELECT 1 FROM chain_deposits WHERE chain_id = $1 AND source = 'balance' AND absorbed_amount < amount LIMIT 1",
    [chainId],
  );
  if (!any) return new Set();
  const open = await tx.query<{ id: string; to_address: string; token: string; block_number: string; left: string }>(
    `SELECT b.id, b.to_address, b.token, b.block_number, (b.amount - b.absorbed_amount)::text AS left
     FROM chain_deposits b
     JOIN (SELECT DISTINCT * FROM unnest($2::text[], $3::text[]) AS p(to_address, token)) p ON p.to_address = b.to_address AND p.token = b.token
     WHERE b.chain_id = $1 AND b.source = 'balance' AND b.absorbed_amount < b.amount
     ORDER BY b.block_number, b.id FOR UPDATE OF b`,
    [chainId, real.map((r) => r.to), real.map((r) => r.token)],
  );
  if (open.length === 0) return new Set();
  const candidates = open.map((b) => ({
    id: BigInt(b.id),
    key: `${b.to_address}:${b.token}`,
    block: BigInt(b.block_number),
    left: BigInt(b.left),
    took: 0n,
  }));
  const absorbed: { id: bigint; by: bigint }[] = [];
  for (const r of real) {
    const b = candidates.find((c) => c.key === `${r.to}:${r.token}` && c.block >= r.blockNumber && c.left >= r.amount);
    if (!b) continue;
    b.left -= r.amount;
    b.took += r.amount;
    absorbed.push({ id: r.id, by: b.id });
  }
  if (absorbed.length === 0) return new Set();
  await tx.query("UPDATE chain_deposits d SET absorbed_by = u.by FROM unnest($1::bigint[], $2::bigint[]) AS u(id, by) WHERE d.id = u.id", [
    absorbed.map((a) => a.id.toString()),
    absorbed.map((a) => a.by.toString()),
  ]);
  const took = candidates.filter((c) => c.took > 0n);
  await tx.query(
    "UPDATE chain_deposits d SET absorbed_amount = d.absorbed_amount + u.took FROM unnest($1::bigint[], $2::numeric[]) AS u(id, took) WHERE d.id = u.id",
    [took.map((c) => c.id.toString()), took.map((c) => c.took.toString())],
  );
  return new Set(absorbed.map((a) => a.id));
}

/**
 * What each (address, token) should hold at `atBlock` by the gateway's rows: deposits (absorbed ones
 * counted through their balance row) less outflows, at or below the block. Keyed `address:token`.
 */
export async function expectedBalances(
  tx: Queryable,
  chainId: number,
  pairs: readonly { address: string; token: string }[],
  atBlock: bigint,
): Promise<Map<string, bigint>> {
  if (pairs.length === 0) return new Map();
  const rows = await tx.query<{ address: string; token: string; expected: string }>(
    `SELECT p.address, p.token,
       (COALESCE((SELECT sum(d.amount) FROM chain_deposits d WHERE d.chain_id = $1 AND d.to_address = p.address AND d.token = p.token
                    AND d.block_number <= $4 AND d.absorbed_by IS NULL), 0)
        - COALESCE((SELECT sum(o.amount) FROM chain_outflows o WHERE o.chain_id = $1 AND o.from_address = p.address AND o.token = p.token
                    AND o.block_number <= $4), 0))::text AS expected
     FROM unnest($2::text[], $3::text[]) AS p(address, token)`,
    [chainId, pairs.map((p) => p.address), pairs.map((p) => p.token), atBlock.toString()],
  );
  return new Map(rows.map((r) => [`${r.address}:${r.token}`, BigInt(r.expected)]));
}

/**
 * The addresses checked by balance every block when the chain has no traces: those of open payment orders
 * in the native coin (leased pool addresses), and recharge addresses of users created, or with a native
 * recharge, within `recentSeconds`. At most `limit`, open orders first.
 */
export async function loadHotNativeAddresses(
  db: Queryable,
  chainId: number,
  p: { recentSeconds: number; limit: number },
): Promise<string[]> {
  const rows = await db.query<{ address: string }>(
    `SELECT address FROM (
       SELECT ap.address, 0 AS rank FROM address_pool ap JOIN payment_orders o ON o.id = ap.order_id
        WHERE ap.order_id IS NOT NULL AND ap.chain_id = $1 AND o.token_address = $2
       UNION ALL
       SELECT w.address, 1 FROM user_wallets w JOIN users u ON u.id = w.user_id
        WHERE w.chain_id = $1 AND u.created_at > now() - make_interval(secs => $3)
       UNION ALL
       SELECT r.to_address, 1 FROM recharge_orders r
        WHERE r.chain_id = $1 AND r.token_address = $2 AND r.created_at > now() - make_interval(secs => $3)
     ) h GROUP BY address ORDER BY min(rank), address LIMIT $4`,
    [chainId, NATIVE, p.recentSeconds, p.limit],
  );
  return rows.map((r) => r.address);
}

/**
 * The next `limit` deposit addresses ever handed out (pool addresses that were leased, users' recharge
 * addresses) after `after` in address order, for the balance net's slow cycle; fewer than `limit` means
 * the cycle is complete.
 */
export async function nextHandedOutAddresses(db: Queryable, chainId: number, after: string, limit: number): Promise<string[]> {
  const rows = await db.query<{ address: string }>(
    `SELECT address FROM (
       (SELECT address FROM address_pool WHERE chain_id = $1 AND leased_at IS NOT NULL AND address > $2 ORDER BY address LIMIT $3)
       UNION
       (SELECT address FROM user_wallets WHERE chain_id = $1 AND address > $2 ORDER BY address LIMIT $3)
     ) a ORDER BY address LIMIT $3`,
    [chainId, after, limit],
  );
  return rows.map((r) => r.address);
}

const NATIVE = "0x0000000000000000000000000000000000000000";

/**
 * Marks up to `limit` unconfirmed deposits and up to `limit` vault events at or below `upTo` as confirmed,
 * oldest first, and returns them (one statement each; rows another transaction holds are skipped).
 * Run it in the transaction that tells the order logic, so each row is reported exactly once.
 */
export async function confirmUpTo(
  tx: Queryable,
  chainId: number,
  upTo: bigint,
  limit: number,
): Promise<{ deposits: StoredDeposit[]; vaultEvents: StoredVaultEvent[]; marked: number }> {
  const deposits = await tx.query(
    `UPDATE chain_deposits SET status = 'confirmed', confirmed_at = now()
     WHERE id IN (SELECT id FROM chain_deposits WHERE chain_id = $1 AND status = 'seen' AND block_number <= $2
                  ORDER BY block_number, log_index, tx_hash LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING ${DEPOSIT_COLUMNS}`,
    [chainId, upTo, limit],
  );
  const marked = deposits.length;
  const events = await tx.query(
    `UPDATE chain_vault_events SET status = 'confirmed', confirmed_at = now()
     WHERE id IN (SELECT id FROM chain_vault_events WHERE chain_id = $1 AND status = 'seen' AND block_number <= $2
                  ORDER BY block_number, log_index LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING ${EVENT_COLUMNS}`,
    [chainId, upTo, limit],
  );
  // absorbed rows are marked too (they reached depth) but never reported: their balance row was
  return {
    deposits: deposits
      .map(toDeposit)
      .filter((d) => d.absorbedBy == null)
      .sort(byPosition),
    vaultEvents: events.map(toVaultEvent).sort(byPosition),
    marked,
  };
}

export async function setConfirmedNumber(tx: Queryable, chainId: number, confirmed: bigint): Promise<void> {
  await tx.query("UPDATE chain_cursors SET confirmed_number = GREATEST(confirmed_number, $2) WHERE chain_id = $1", [chainId, confirmed]);
}

/** Forgets kept blocks below `below`, always keeping the newest. */
export async function pruneBlocks(db: Queryable, chainId: number, below: bigint): Promise<void> {
  await db.query(
    `DELETE FROM chain_blocks WHERE chain_id = $1 AND block_number < $2
       AND block_number < (SELECT max(block_number) FROM chain_blocks WHERE chain_id = $1)`,
    [chainId, below],
  );
}

export async function listDeposits(db: Queryable, chainId: number): Promise<StoredDeposit[]> {
  const rows = await db.query(`SELECT ${DEPOSIT_COLUMNS} FROM chain_deposits WHERE chain_id = $1`, [chainId]);
  return rows.map(toDeposit).sort(byPosition);
}

export async function listVaultEvents(db: Queryable, chainId: number): Promise<StoredVaultEvent[]> {
  const rows = await db.query(`SELECT ${EVENT_COLUMNS} FROM chain_vault_events WHERE chain_id = $1`, [chainId]);
  return rows.map(toVaultEvent).sort(byPosition);
}

// ------------------------------------------------------------------ watched addresses

/**
 * Where the watched set comes from: every payment address of the pool (leased or not: a deposit to an idle
 * address is still recorded, as unattributed) and every recharge address (user_wallets).
 * `poolCounters` and `lastWalletId` let {loadNewWatchedAddresses} fetch only what was added since.
 */
export type WatchedSource = { poolCounters: Map<string, bigint>; lastWalletId: bigint };

const PAGE = 50_000;

/**
 * Streams every watched address of the chain to `add`, through server-side cursors in pages of 50,000
 * (one sequential scan per table, bounded memory for a million addresses).
 */
export async function loadWatchedAddresses(db: Db, chainId: number, add: (address: string) => void): Promise<WatchedSource> {
  if (!Number.isSafeInteger(chainId)) throw new TypeError(`chain id ${chainId} is not an integer`);
  // counters first: pool rows added after this read are fetched again by the next incremental load
  const counters = await db.query("SELECT merchant_id, next_index FROM address_pool_counters WHERE chain_id = $1", [chainId]);
  const poolCounters = new Map(counters.map((r) => [String(r.merchant_id), BigInt(r.next_index)]));
  let lastWalletId = 0n;
  await db.transaction(async (tx) => {
    await tx.query(`DECLARE watched_pool NO SCROLL CURSOR FOR SELECT address FROM address_pool WHERE chain_id = ${chainId}`);
    for (;;) {
      const rows = await tx.query<{ address: string }>(`FETCH ${PAGE} FROM watched_pool`);
      for (const r of rows) add(r.address);
      if (rows.length < PAGE) break;
    }
    await tx.query(`DECLARE watched_wallets NO SCROLL CURSOR FOR SELECT id, address FROM user_wallets WHERE chain_id = ${chainId}`);
    for (;;) {
      const rows = await tx.query<{ id: string; address: string }>(`FETCH ${PAGE} FROM watched_wallets`);
      for (const r of rows) {
        add(r.address);
        if (BigInt(r.id) > lastWalletId) lastWalletId = BigInt(r.id);
      }
      if (rows.length < PAGE) break;
    }
  });
  return { poolCounters, lastWalletId };
}

/** How far back in user_wallets ids a refresh looks again, for ids committed out of order. */
const WALLET_ID_LAG = 200n;

/** Addresses added since `source` was taken (pool batches by counter, wallets by id); updates `source`. */
export async function loadNewWatchedAddresses(db: Queryable, chainId: number, source: WatchedSource): Promise<string[]> {
  const found: string[] = [];
  const counters = await db.query("SELECT merchant_id, next_index FROM address_pool_counters WHERE chain_id = $1", [chainId]);
  for (const c of counters) {
    const key = String(c.merchant_id);
    const known = source.poolCounters.get(key) ?? 0n;
    const next = BigInt(c.next_index);
    if (next <= known) continue;
    const rows = await db.query<{ address: string }>(
      "SELECT address FROM address_pool WHERE merchant_id = $1 AND chain_id = $2 AND pool_index >= $3",
      [c.merchant_id, chainId, known],
    );
    for (const r of rows) found.push(r.address);
    source.poolCounters.set(key, next);
  }
  const from = source.lastWalletId > WALLET_ID_LAG ? source.lastWalletId - WALLET_ID_LAG : 0n;
  const wallets = await db.query<{ id: string; address: string }>(
    "SELECT id, address FROM user_wallets WHERE chain_id = $1 AND id > $2 ORDER BY id",
    [chainId, from],
  );
  for (const w of wallets) {
    found.push(w.address);
    if (BigInt(w.id) > source.lastWalletId) source.lastWalletId = BigInt(w.id);
  }
  return found;
}

// ------------------------------------------------------------------ rows

function toDeposit(r: Row): StoredDeposit {
  return {
    id: BigInt(r.id),
    chainId: Number(r.chain_id),
    blockNumber: BigInt(r.block_number),
    blockHash: r.block_hash,
    txHash: r.tx_hash,
    logIndex: Number(r.log_index),
    token: r.token,
    from: r.from_address,
    to: r.to_address,
    amount: BigInt(r.amount),
    source: r.source,
    status: r.status,
    absorbedBy: r.absorbed_by == null ? null : BigInt(r.absorbed_by),
  };
}

function toVaultEvent(r: Row): StoredVaultEvent {
  return {
    id: BigInt(r.id),
    chainId: Number(r.chain_id),
    blockNumber: BigInt(r.block_number),
    blockHash: r.block_hash,
    txHash: r.tx_hash,
    logIndex: Number(r.log_index),
    name: r.name,
    args: typeof r.args === "string" ? JSON.parse(r.args) : r.args,
    status: r.status,
  };
}

function byPosition(a: { blockNumber: bigint; logIndex: number; txHash: string }, b: typeof a): number {
  if (a.blockNumber !== b.blockNumber) return a.blockNumber < b.blockNumber ? -1 : 1;
  if (a.logIndex !== b.logIndex) return a.logIndex - b.logIndex;
  return a.txHash < b.txHash ? -1 : a.txHash > b.txHash ? 1 : 0;
}
