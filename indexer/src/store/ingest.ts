import type { RechargeStatus } from "../domain/orderStateMachine.js";
import type { StoredDeposit } from "./chain.js";
import type { Queryable } from "./db.js";
import type { NewOutboxEvent } from "./outbox.js";
import { toPaymentOrder, type PaymentOrderRecord } from "./paymentOrders.js";
import { confirmationsOf, listPaymentTransfers, type TransferFoundBy } from "./paymentTransfers.js";
import type { RechargeOrderRecord } from "./rechargeOrders.js";

/**
 * Queries of the deposit-to-order step (migrations/004_ingest.sql): set-based, one statement per batch of
 * deposits (unnest arrays), all in the follower's transaction. Keys are (chain_id, tx_hash, log_index).
 */

export type DepositKey = { txHash: string; logIndex: number };
export type TransferKind = "payment" | "wrong_token";
export type TransferStatus = "seen" | "confirmed" | "removed";

export type PaymentTransfer = {
  chainId: number;
  txHash: string;
  logIndex: number;
  payOrderId: string;
  token: string;
  from: string;
  to: string;
  amount: bigint;
  blockNumber: bigint;
  kind: TransferKind;
  late: boolean;
};

const keyArrays = (ds: readonly DepositKey[]) => [ds.map((d) => d.txHash), ds.map((d) => d.logIndex)];

// ------------------------------------------------------------------ payments

/**
 * Finds the payment order of each deposit: the order the address is leased to, else (address back in the
 * pool) the order that last leased it, or that last had it before the payer switched to another network or
 * coin (payment_order_choices: a payment to the earlier address is recorded on the order, shown, not counted). Deposits to an address of no order and no user wallet are written
 * to `unattributed_deposits` by the same statement. Returns the attributed ones by index into `deposits`.
 * The deposits must be rows of chain_deposits written in this transaction (the follower's onSeen rows).
 */
export async function attributeDeposits(
  tx: Queryable,
  chainId: number,
  deposits: readonly StoredDeposit[],
): Promise<{ index: number; orderId: string }[]> {
  // by chain_deposits id (the rows are in this transaction already): a few bytes a row to send, not ~250
  const rows = await tx.query<{ i: string; order_id: string }>(
    `WITH d AS (
       SELECT c.*, x.i FROM unnest($2::bigint[]) WITH ORDINALITY AS x(id, i) JOIN chain_deposits c ON c.id = x.id
     ), a AS (
       SELECT d.*, ap.merchant_id, COALESCE(ap.order_id, lo.id) AS order_id,
              EXISTS (SELECT 1 FROM user_wallets w WHERE w.chain_id = $1 AND w.address = d.to_address) AS is_wallet
       FROM d
       LEFT JOIN address_pool ap ON ap.chain_id = $1 AND ap.address = d.to_address
       LEFT JOIN LATERAL (
         SELECT x.id FROM (
           SELECT o.id, o.created_at AS at FROM payment_orders o WHERE o.chain_id = $1 AND o.receipt_address = d.to_address
           UNION ALL
           SELECT c.pay_order_id, c.switched_at FROM payment_order_choices c WHERE c.chain_id = $1 AND c.receipt_address = d.to_address
         ) x
         WHERE ap.order_id IS NULL
         ORDER BY x.at DESC, x.id DESC LIMIT 1
       ) lo ON true
     ), un AS (
       INSERT INTO unattributed_deposits (chain_id, tx_hash, log_index, merchant_id, token, from_address, to_address, amount, block_number)
       SELECT $1, tx_hash, log_index, merchant_id, token, from_address, to_address, amount, block_number
       FROM a WHERE order_id IS NULL AND NOT is_wallet
       ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING
       RETURNING 1
     )
     SELECT i, order_id FROM a WHERE order_id IS NOT NULL`,
    [chainId, deposits.map((d) => d.id.toString())],
  );
  return rows.map((r) => ({ index: Number(r.i) - 1, orderId: r.order_id }));
}

/** Locks the orders (in id order, so two writers never deadlock) and returns them by id. */
export async function lockPaymentOrders(tx: Queryable, ids: Iterable<string>): Promise<Map<string, PaymentOrderRecord>> {
  const list = [...new Set(ids)].sort();
  if (list.length === 0) return new Map();
  const rows = await tx.query("SELECT * FROM payment_orders WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", [list]);
  return new Map(rows.map((r) => [r.id as string, toPaymentOrder(r)]));
}

/**
 * Records transfers against their orders. A key already present is skipped, unless a reorg removed it and
 * the same transfer was mined again: then it is revived with its new attribution.
 * @returns the keys written now (`txHash:logIndex`): only these may move an order
 */
export async function insertPaymentTransfers(tx: Queryable, transfers: readonly PaymentTransfer[]): Promise<Set<string>> {
  if (transfers.length === 0) return new Set();
  const rows = await tx.query<{ tx_hash: string; log_index: number }>(
    `INSERT INTO payment_transfers (chain_id, tx_hash, log_index, pay_order_id, token, from_address, to_address, amount, block_number, kind, late)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::numeric[], $9::bigint[], $10::text[], $11::boolean[])
     ON CONFLICT (chain_id, tx_hash, log_index) DO UPDATE
       SET status = 'seen', pay_order_id = EXCLUDED.pay_order_id, block_number = EXCLUDED.block_number,
           kind = EXCLUDED.kind, late = EXCLUDED.late, updated_at = now()
       WHERE payment_transfers.status = 'removed'
     RETURNING tx_hash, log_index`,
    [
      transfers.map((t) => t.chainId),
      transfers.map((t) => t.txHash),
      transfers.map((t) => t.logIndex),
      transfers.map((t) => t.payOrderId),
      transfers.map((t) => t.token),
      transfers.map((t) => t.from),
      transfers.map((t) => t.to),
      transfers.map((t) => t.amount.toString()),
      transfers.map((t) => t.blockNumber.toString()),
      transfers.map((t) => t.kind),
      transfers.map((t) => t.late),
    ],
  );
  return new Set(rows.map((r) => `${r.tx_hash}:${Number(r.log_index)}`));
}

/**
 * Moves the payment transfers with these keys from 'seen' to `to`, in one statement (rows already there
 * are left alone); a reorg ('removed') also deletes the keys' unattributed deposits, as the follower
 * deletes their chain_deposits rows. Returns the payment transfers moved now, in chain order.
 */
export async function markTransfers(
  tx: Queryable,
  chainId: number,
  keys: readonly DepositKey[],
  to: "confirmed" | "removed",
): Promise<PaymentTransfer[]> {
  if (keys.length === 0) return [];
  const rows = await tx.query(
    `WITH d AS (SELECT * FROM unnest($2::text[], $3::int[]) AS d(tx_hash, log_index))${
      to === "removed"
        ? `, un AS (DELETE FROM unattributed_deposits u USING d
              WHERE u.chain_id = $1 AND u.tx_hash = d.tx_hash AND u.log_index = d.log_index RETURNING 1)`
        : ""
    }
     UPDATE payment_transfers t SET status = $4, updated_at = now() FROM d
     WHERE t.chain_id = $1 AND t.tx_hash = d.tx_hash AND t.log_index = d.log_index AND t.status = 'seen'
     RETURNING t.*`,
    [chainId, ...keyArrays(keys), to],
  );
  return rows
    .map(toTransfer)
    .sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
}

/** Writes the amounts and states the state machine computed; `payerAddress` is set only where still empty. */
export async function writePaymentOrders(tx: Queryable, orders: readonly PaymentOrderRecord[]): Promise<void> {
  if (orders.length === 0) return;
  await tx.query(
    `UPDATE payment_orders o SET status = u.status, seen_amount = u.seen, paid_amount = u.paid,
       payer_address = COALESCE(o.payer_address, u.payer), updated_at = now()
     FROM unnest($1::text[], $2::smallint[], $3::numeric[], $4::numeric[], $5::text[]) AS u(id, status, seen, paid, payer)
     WHERE o.id = u.id`,
    [
      orders.map((o) => o.id),
      orders.map((o) => o.status),
      orders.map((o) => o.seenAmount.toString()),
      orders.map((o) => o.paidAmount.toString()),
      orders.map((o) => o.payerAddress),
    ],
  );
}

/** After a reorg: the payer is the sender of the order's first payment still on chain (or none). */
export async function refreshPayers(tx: Queryable, orderIds: readonly string[]): Promise<void> {
  if (orderIds.length === 0) return;
  await tx.query(
    `UPDATE payment_orders o SET payer_address = (
       SELECT t.from_address FROM payment_transfers t
       WHERE t.pay_order_id = o.id AND t.kind = 'payment' AND t.status <> 'removed' AND t.from_address <> ''
       ORDER BY t.late, t.block_number, t.log_index LIMIT 1)
     WHERE o.id = ANY($1::text[])`,
    [orderIds],
  );
}

/** Orders that closed: their addresses go back to the pool after the cool-down (as in applyToLockedOrder). */
export async function releaseAddresses(tx: Queryable, orderIds: readonly string[], cooldownSeconds: number): Promise<void> {
  if (orderIds.length === 0) return;
  await tx.query(
    `UPDATE address_pool SET order_id = NULL, available_at = now() + make_interval(secs => $2) WHERE order_id = ANY($1::text[])`,
    [orderIds, cooldownSeconds],
  );
}

/**
 * Open orders at 2 with an unconfirmed payment that has a block on top of it (tip > block) but is not at
 * the boundary yet: the ones to move to 3 now. Locked; with the confirmations of their oldest such transfer.
 */
export async function lockConfirmingPaymentOrders(
  tx: Queryable,
  chainId: number,
  tip: bigint,
  confirmed: bigint,
): Promise<{ order: PaymentOrderRecord; confirmations: number }[]> {
  const rows = await tx.query(
    `SELECT o.*, c.first_block FROM payment_orders o
     JOIN (SELECT t.pay_order_id, min(t.block_number) AS first_block FROM payment_transfers t
           WHERE t.chain_id = $1 AND t.status = 'seen' AND t.kind = 'payment' AND NOT t.late
             AND t.block_number < $2 AND t.block_number > $3
           GROUP BY t.pay_order_id) c ON c.pay_order_id = o.id
     WHERE o.status = 2
     ORDER BY o.id FOR UPDATE OF o`,
    [chainId, tip.toString(), confirmed.toString()],
  );
  return rows.map((r) => ({ order: toPaymentOrder(r), confirmations: Number(tip - BigInt(r.first_block) + 1n) }));
}

// ------------------------------------------------------------------ recharges

export type RechargeMatch = { index: number; userId: bigint; merchantId: bigint; uuid: string };

/** The deposits (by index; rows of chain_deposits in this transaction) that went to a user's recharge address, with the user. */
export async function matchRechargeDeposits(tx: Queryable, chainId: number, deposits: readonly StoredDeposit[]): Promise<RechargeMatch[]> {
  const rows = await tx.query(
    `SELECT x.i, u.id AS user_id, u.merchant_id, u.uuid
     FROM unnest($2::bigint[]) WITH ORDINALITY AS x(id, i)
     JOIN chain_deposits c ON c.id = x.id
     JOIN user_wallets w ON w.chain_id = $1 AND w.address = c.to_address
     JOIN users u ON u.id = w.user_id`,
    [chainId, deposits.map((d) => d.id.toString())],
  );
  return rows.map((r) => ({ index: Number(r.i) - 1, userId: BigInt(r.user_id), merchantId: BigInt(r.merchant_id), uuid: r.uuid }));
}

/** Inserts new recharge orders, skipping keys already present; returns the ids written now. */
export async function insertRechargeOrders(
  tx: Queryable,
  orders: readonly RechargeOrderRecord[],
  blockHashes: readonly string[],
): Promise<Set<string>> {
  if (orders.length === 0) return new Set();
  const rows = await tx.query<{ id: string }>(
    `INSERT INTO recharge_orders (id, merchant_id, user_id, chain_id, token_address, amount, status, from_address, to_address,
       tx_hash, log_index, block_number, block_hash)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::numeric[], $7::smallint[], $8::text[],
       $9::text[], $10::text[], $11::int[], $12::bigint[], $13::text[])
     ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING
     RETURNING id`,
    [
      orders.map((o) => o.id),
      orders.map((o) => o.merchantId.toString()),
      orders.map((o) => o.userId.toString()),
      orders.map((o) => o.chainId),
      orders.map((o) => o.tokenAddress),
      orders.map((o) => o.amount.toString()),
      orders.map((o) => o.status),
      orders.map((o) => o.fromAddress),
      orders.map((o) => o.toAddress),
      orders.map((o) => o.txHash),
      orders.map((o) => o.logIndex),
      orders.map((o) => o.blockNumber.toString()),
      blockHashes,
    ],
  );
  return new Set(rows.map((r) => r.id));
}

/** Locks the recharge orders of these deposits that are in one of `statuses`. */
export async function lockRechargesByKeys(
  tx: Queryable,
  chainId: number,
  keys: readonly DepositKey[],
  statuses: readonly RechargeStatus[],
): Promise<RechargeOrderRecord[]> {
  if (keys.length === 0) return [];
  const rows = await tx.query(
    `SELECT r.*, u.uuid FROM recharge_orders r JOIN users u ON u.id = r.user_id
     JOIN unnest($2::text[], $3::int[]) AS d(tx_hash, log_index) ON r.tx_hash = d.tx_hash AND r.log_index = d.log_index
     WHERE r.chain_id = $1 AND r.status = ANY($4::smallint[])
     ORDER BY r.id FOR UPDATE OF r`,
    [chainId, ...keyArrays(keys), statuses],
  );
  return rows.map(toRecharge);
}

/** Recharges at 2 with a block on top of them but not at the boundary yet; locked. */
export async function lockConfirmingRecharges(
  tx: Queryable,
  chainId: number,
  tip: bigint,
  confirmed: bigint,
): Promise<RechargeOrderRecord[]> {
  const rows = await tx.query(
    `SELECT r.*, u.uuid FROM recharge_orders r JOIN users u ON u.id = r.user_id
     WHERE r.chain_id = $1 AND r.status = 2 AND r.block_number < $2 AND r.block_number > $3
     ORDER BY r.id FOR UPDATE OF r`,
    [chainId, tip.toString(), confirmed.toString()],
  );
  return rows.map(toRecharge);
}

/** Writes the states (and, for a transfer mined again, its new block) the state machine computed. */
export async function writeRecharges(tx: Queryable, orders: readonly (RechargeOrderRecord & { blockHash?: string })[]): Promise<void> {
  if (orders.length === 0) return;
  await tx.query(
    `UPDATE recharge_orders r SET status = u.status, block_number = u.block_number,
       block_hash = COALESCE(u.block_hash, r.block_hash), updated_at = now()
     FROM unnest($1::text[], $2::smallint[], $3::bigint[], $4::text[]) AS u(id, status, block_number, block_hash)
     WHERE r.id = u.id`,
    [
      orders.map((o) => o.id),
      orders.map((o) => o.status),
      orders.map((o) => o.blockNumber.toString()),
      orders.map((o) => o.blockHash ?? null),
    ],
  );
}

// ------------------------------------------------------------------ outbox

/**
 * Writes several webhooks in one statement, in the shape of {insertOutboxEvent} (`{eventId, type, data}`).
 * Ids must sort in the order the events happened (see ingest/eventIds.ts): one transaction gives them one
 * `created_at`.
 */
export async function insertOutboxEvents(tx: Queryable, events: readonly NewOutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  await tx.query(
    `INSERT INTO outbox_events (id, merchant_id, aggregate_kind, aggregate_id, type, payload)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::jsonb[])`,
    [
      events.map((e) => e.id),
      events.map((e) => e.merchantId.toString()),
      events.map((e) => e.aggregateKind),
      events.map((e) => e.aggregateId),
      events.map((e) => e.type),
      events.map((e) => JSON.stringify({ eventId: e.id, type: e.type, data: e.payload })),
    ],
  );
}

// ------------------------------------------------------------------ payment/detail

export type PaymentTransferView = {
  txHash: string;
  logIndex: number;
  blockNumber: string;
  from: string;
  token: string;
  amountBaseUnits: string;
  /** tip - block + 1 on the follower's last ingested block; 0 once removed */
  confirmations: number;
  status: TransferStatus;
  late: boolean;
  /** false: another token than the order's (shown, not counted) */
  tokenMatches: boolean;
  /**
   * How the follower found it: "log" (token Transfer or the deposit address's receipt log), "transaction"
   * (a top-level transfer), "trace" (an internal transfer by a contract), or "balance" (the safety net: the
   * address held more than its recorded deposits; no transaction known, `txHash` is `balance:<block>:…`).
   */
  foundBy: TransferFoundBy;
  /** for a deposit found by balance: the transactions recorded later that it turned out to be (absorbed into it) */
  matchedTxHashes: string[];
};

/**
 * What payment/detail adds to an order: every transfer recorded against it, and the late and overpaid
 * amounts (base units; overpaid = counted transfers, late ones excluded, above the amount due).
 */
export async function paymentTransfersOf(
  db: Queryable,
  order: Pick<PaymentOrderRecord, "id" | "amount">,
): Promise<{ transfers: PaymentTransferView[]; lateAmount: bigint; overpaidAmount: bigint; unmatchedAmount: bigint }> {
  let late = 0n;
  let onTime = 0n;
  let unmatched = 0n;
  const transfers = (await listPaymentTransfers(db, order.id)).map((t): PaymentTransferView => {
    if (t.status !== "removed") {
      if (!t.counted) unmatched += t.amount;
      else if (t.late) late += t.amount;
      else onTime += t.amount;
    }
    return {
      txHash: t.txHash,
      logIndex: t.logIndex,
      blockNumber: t.blockNumber.toString(),
      from: t.from,
      token: t.token,
      amountBaseUnits: t.amount.toString(),
      confirmations: confirmationsOf(t),
      status: t.status,
      late: t.late,
      tokenMatches: t.counted,
      foundBy: t.foundBy,
      matchedTxHashes: t.matchedTxHashes,
    };
  });
  const over = onTime - order.amount;
  return { transfers, lateAmount: late, overpaidAmount: over > 0n ? over : 0n, unmatchedAmount: unmatched };
}

/** Unattributed deposits to one address (or all of a chain), newest first, with their confirmation status. */
export async function listUnattributedDeposits(db: Queryable, chainId: number, toAddress?: string) {
  const rows = await db.query(
    `SELECT u.*, COALESCE(c.status, 'seen') AS status FROM unattributed_deposits u
     LEFT JOIN chain_deposits c ON c.chain_id = u.chain_id AND c.tx_hash = u.tx_hash AND c.log_index = u.log_index
     WHERE u.chain_id = $1 AND ($2::text IS NULL OR u.to_address = $2)
     ORDER BY u.block_number DESC, u.log_index DESC LIMIT 1000`,
    [chainId, toAddress?.toLowerCase() ?? null],
  );
  return rows.map((r) => ({
    txHash: r.tx_hash as string,
    logIndex: Number(r.log_index),
    merchantId: r.merchant_id == null ? null : BigInt(r.merchant_id),
    token: r.token as string,
    from: r.from_address as string,
    to: r.to_address as string,
    amount: BigInt(r.amount),
    blockNumber: BigInt(r.block_number),
    status: r.status as "seen" | "confirmed",
  }));
}

// ------------------------------------------------------------------ rows

function toTransfer(r: Record<string, any>): PaymentTransfer {
  return {
    chainId: Number(r.chain_id),
    txHash: r.tx_hash,
    logIndex: Number(r.log_index),
    payOrderId: r.pay_order_id,
    token: r.token,
    from: r.from_address,
    to: r.to_address,
    amount: BigInt(r.amount),
    blockNumber: BigInt(r.block_number),
    kind: r.kind,
    late: r.late === true || r.late === "t",
  };
}

function toRecharge(r: Record<string, any>): RechargeOrderRecord {
  return {
    id: r.id,
    merchantId: BigInt(r.merchant_id),
    userId: BigInt(r.user_id),
    uuid: r.uuid,
    chainId: Number(r.chain_id),
    tokenAddress: r.token_address,
    amount: BigInt(r.amount),
    status: Number(r.status) as RechargeStatus,
    fromAddress: r.from_address,
    toAddress: r.to_address,
    txHash: r.tx_hash,
    logIndex: Number(r.log_index),
    blockNumber: BigInt(r.block_number),
    createdAt: new Date(r.created_at),
  };
}
