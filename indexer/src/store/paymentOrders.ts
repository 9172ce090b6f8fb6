import type { Address } from "viem";
import { DepositKind, depositAddress } from "../domain/depositAddress.js";
import { newId } from "../domain/ids.js";
import {
  PAYMENT_TERMINAL,
  transitionPayment,
  type PaymentEvent,
  type PaymentOrderState,
  type PaymentStatus,
} from "../domain/orderStateMachine.js";
import type { Db, Queryable } from "./db.js";
import { IdempotencyConflictError, NotFoundError } from "./errors.js";
import { insertOutboxEvent, requeueLatestEvent } from "./outbox.js";

export type PaymentOrderRecord = PaymentOrderState & {
  id: string;
  merchantId: bigint;
  merchantOrderId: string;
  chainId: number;
  tokenAddress: string;
  tokenSymbol: string;
  tokenDecimals: number;
  receiptAddress: string | null;
  poolIndex: bigint | null;
  payerAddress: string | null;
  notifyUrl: string;
  redirectionUrl: string | null;
  accessSign: string;
  expiresAt: Date;
  createdAt: Date;
  updatedAt: Date;
};

export function toPaymentOrder(r: Record<string, any>): PaymentOrderRecord {
  return {
    id: r.id,
    merchantId: BigInt(r.merchant_id),
    merchantOrderId: r.merchant_order_id,
    chainId: Number(r.chain_id),
    tokenAddress: r.token_address,
    tokenSymbol: r.token_symbol,
    tokenDecimals: Number(r.token_decimals),
    amount: BigInt(r.amount),
    status: Number(r.status) as PaymentStatus,
    seenAmount: BigInt(r.seen_amount),
    paidAmount: BigInt(r.paid_amount),
    refundedAmount: BigInt(r.refunded_amount),
    receiptAddress: r.receipt_address,
    poolIndex: r.pool_index == null ? null : BigInt(r.pool_index),
    payerAddress: r.payer_address,
    notifyUrl: r.notify_url,
    redirectionUrl: r.redirection_url,
    accessSign: r.access_sign,
    expiresAt: new Date(r.expires_at),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

export type CreatePaymentOrderParameters = {
  id: string;
  merchantId: bigint;
  merchantOrderId: string;
  requestHash: string;
  chainId: number;
  vault: Address;
  /** precomputed deposit init-code hash of the chain's vault */
  initCodeHash: `0x${string}`;
  tokenAddress: string;
  tokenSymbol: string;
  tokenDecimals: number;
  amount: bigint;
  notifyUrl: string;
  redirectionUrl: string | null;
  accessSign: string;
  expiresAt: Date;
  /** pool growth batch (default {POOL_GROW_BATCH}) */
  growBy?: number;
};

/**
 * Creates a payment order and leases it a payment deposit address, in one transaction.
 * Idempotent by (merchant, merchantOrderId): the same request hash returns the existing order
 * (`created: false`); a different one throws {IdempotencyConflictError}.
 *
 * The lease takes a free pool row with `FOR UPDATE SKIP LOCKED` and binds it to the order in one
 * statement, so concurrent creates never share an address; an empty pool grows by a batch of
 * addresses numbered from a per-(merchant, chain) counter (keys 0, 1, 2, … with no gaps).
 */
export async function createPaymentOrder(
  db: Db,
  p: CreatePaymentOrderParameters,
): Promise<{ order: PaymentOrderRecord; created: boolean }> {
  return db.transaction(async (tx) => {
    const inserted = await tx.query(
      `INSERT INTO payment_orders (id, merchant_id, merchant_order_id, request_hash, chain_id, token_address,
         token_symbol, token_decimals, amount, notify_url, redirection_url, access_sign, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (merchant_id, merchant_order_id) DO NOTHING
       RETURNING id`,
      [
        p.id,
        p.merchantId,
        p.merchantOrderId,
        p.requestHash,
        p.chainId,
        p.tokenAddress.toLowerCase(),
        p.tokenSymbol,
        p.tokenDecimals,
        p.amount,
        p.notifyUrl,
        p.redirectionUrl,
        p.accessSign,
        p.expiresAt,
      ],
    );
    if (inserted.length === 0) {
      const [existing] = await tx.query(
        "SELECT * FROM payment_orders WHERE merchant_id = $1 AND merchant_order_id = $2",
        [p.merchantId, p.merchantOrderId],
      );
      const order = toPaymentOrder(existing!);
      if (existing!.request_hash !== p.requestHash) throw new IdempotencyConflictError("merchantOrderId", p.merchantOrderId);
      return { order, created: false };
    }

    const leased = await leaseFreeAddress(tx, p);
    if (leased) return { order: leased, created: true };

    // The pool is empty or cooling down. Take the pool counter's row lock, then look again: a
    // concurrent create may have grown the pool while we waited. Only if it is still empty, grow it by
    // a batch: one address for this order and the rest free for the next creates.
    await tx.query(
      "INSERT INTO address_pool_counters (merchant_id, chain_id, next_index) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
      [p.merchantId, p.chainId],
    );
    const [counter] = await tx.query<{ next_index: string }>(
      "SELECT next_index FROM address_pool_counters WHERE merchant_id = $1 AND chain_id = $2 FOR UPDATE",
      [p.merchantId, p.chainId],
    );
    const retried = await leaseFreeAddress(tx, p);
    if (retried) return { order: retried, created: true };

    const first = BigInt(counter!.next_index);
    const batch = BigInt(p.growBy ?? POOL_GROW_BATCH);
    const indexes: string[] = [];
    const addresses: string[] = [];
    for (let i = first; i < first + batch; i++) {
      indexes.push(i.toString());
      addresses.push(
        depositAddress({ vault: p.vault, merchantId: p.merchantId, kind: DepositKind.Payment, key: i, initCodeHash: p.initCodeHash }).toLowerCase(),
      );
    }
    await tx.query("UPDATE address_pool_counters SET next_index = $3 WHERE merchant_id = $1 AND chain_id = $2", [
      p.merchantId,
      p.chainId,
      first + batch,
    ]);
    const [grown] = await tx.query(
      `WITH ins AS (
         INSERT INTO address_pool (merchant_id, chain_id, pool_index, address, order_id, leased_at)
         SELECT $1, $2, t.idx, t.addr, CASE WHEN t.idx = $3 THEN $5 END, CASE WHEN t.idx = $3 THEN now() END
         FROM unnest($4::bigint[], $6::text[]) AS t(idx, addr)
         RETURNING address, pool_index, order_id
       )
       UPDATE payment_orders o SET receipt_address = ins.address, pool_index = ins.pool_index
       FROM ins WHERE ins.order_id = $5 AND o.id = $5
       RETURNING o.*`,
      [p.merchantId, p.chainId, first, indexes, p.id, addresses],
    );
    return { order: toPaymentOrder(grown!), created: true };
  });
}

/** Addresses added to a merchant's pool on one chain each time it runs dry. */
export const POOL_GROW_BATCH = 16;

/**
 * Leases the longest-rested free address to order `p.id` and binds it to the order, in one statement.
 * `FOR UPDATE SKIP LOCKED` makes concurrent leases pick different rows without waiting on each other.
 */
async function leaseFreeAddress(
  tx: Queryable,
  p: { merchantId: bigint; chainId: number; id: string },
): Promise<PaymentOrderRecord | null> {
  const [row] = await tx.query(
    `WITH free AS (
       SELECT pool_index FROM address_pool
       WHERE merchant_id = $1 AND chain_id = $2 AND order_id IS NULL AND available_at <= now()
       ORDER BY available_at
       LIMIT 1
       FOR UPDATE SKIP LOCKED
     ), leased AS (
       UPDATE address_pool a SET order_id = $3, leased_at = now()
       FROM free
       WHERE a.merchant_id = $1 AND a.chain_id = $2 AND a.pool_index = free.pool_index
       RETURNING a.address, a.pool_index
     )
     UPDATE payment_orders o SET receipt_address = leased.address, pool_index = leased.pool_index
     FROM leased WHERE o.id = $3
     RETURNING o.*`,
    [p.merchantId, p.chainId, p.id],
  );
  return row ? toPaymentOrder(row) : null;
}

export type PaymentOrderRef = { payOrderId?: string; merchantOrderId?: string };

/** A merchant's payment order by payOrderId or merchantOrderId; throws {NotFoundError}. */
export async function getPaymentOrder(db: Queryable, merchantId: bigint, ref: PaymentOrderRef, forUpdate = false) {
  const [row] = ref.payOrderId
    ? await db.query(`SELECT * FROM payment_orders WHERE merchant_id = $1 AND id = $2${forUpdate ? " FOR UPDATE" : ""}`, [
        merchantId,
        ref.payOrderId,
      ])
    : await db.query(
        `SELECT * FROM payment_orders WHERE merchant_id = $1 AND merchant_order_id = $2${forUpdate ? " FOR UPDATE" : ""}`,
        [merchantId, ref.merchantOrderId],
      );
  if (!row) throw new NotFoundError("payment", ref.payOrderId ?? ref.merchantOrderId ?? "");
  return toPaymentOrder(row);
}

/** The webhook body of a payment order (seed 003's payload plus amounts). */
export function paymentWebhookPayload(o: PaymentOrderRecord) {
  return {
    payOrderId: o.id,
    merchantOrderId: o.merchantOrderId,
    accessSign: o.accessSign,
    state: o.status,
    chainId: o.chainId,
    token: o.tokenAddress,
    amount: o.amount.toString(),
    paidAmount: o.paidAmount.toString(),
    seenAmount: o.seenAmount.toString(),
    refundedAmount: o.refundedAmount.toString(),
  };
}

/**
 * Applies one state-machine event to a payment order in one transaction: locks the row, asks the state
 * machine (which throws on an illegal move), writes the new state, the outbox event, and, when the
 * order closes, returns its address to the pool after the cool-down.
 */
export async function applyPaymentEvent(
  db: Db,
  args: { merchantId: bigint; ref: PaymentOrderRef; event: PaymentEvent; poolCooldownSeconds: number },
): Promise<PaymentOrderRecord> {
  return db.transaction(async (tx) => {
    const order = await getPaymentOrder(tx, args.merchantId, args.ref, true);
    return applyToLockedOrder(tx, order, args.event, args.poolCooldownSeconds);
  });
}

/**
 * Moves unpaid orders past their expiry to -2 (and underpaid ones to -1), each with its webhook, and
 * rests their addresses. Safe to run from several processes at once (`FOR UPDATE SKIP LOCKED`).
 * @returns the orders moved
 */
export async function expireDuePaymentOrders(
  db: Db,
  { limit = 200, poolCooldownSeconds }: { limit?: number; poolCooldownSeconds: number },
): Promise<PaymentOrderRecord[]> {
  return db.transaction(async (tx) => {
    const due = await tx.query(
      `SELECT * FROM payment_orders WHERE status IN (0, 1) AND expires_at <= now()
       ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    const moved: PaymentOrderRecord[] = [];
    for (const row of due) moved.push(await applyToLockedOrder(tx, toPaymentOrder(row), { type: "expire" }, poolCooldownSeconds));
    return moved;
  });
}

/** The write half of every payment move; `order` must be locked by the caller's transaction. */
async function applyToLockedOrder(
  tx: Queryable,
  order: PaymentOrderRecord,
  event: PaymentEvent,
  poolCooldownSeconds: number,
): Promise<PaymentOrderRecord> {
  const { next, outbox } = transitionPayment(order, event);
  const [row] = await tx.query(
    `UPDATE payment_orders SET status = $2, seen_amount = $3, paid_amount = $4, refunded_amount = $5, updated_at = now()
     WHERE id = $1 RETURNING *`,
    [order.id, next.status, next.seenAmount, next.paidAmount, next.refundedAmount],
  );
  const updated = toPaymentOrder(row!);
  if (outbox) {
    await insertOutboxEvent(tx, {
      id: newId(),
      merchantId: order.merchantId,
      aggregateKind: "payment",
      aggregateId: order.id,
      type: outbox.type,
      payload: { ...paymentWebhookPayload(updated), ...outbox.payload },
    });
  }
  if (!PAYMENT_TERMINAL.includes(order.status) && PAYMENT_TERMINAL.includes(next.status)) {
    await tx.query(
      `UPDATE address_pool SET order_id = NULL, available_at = now() + make_interval(secs => $2) WHERE order_id = $1`,
      [order.id, poolCooldownSeconds],
    );
  }
  return updated;
}

/**
 * Queues the order's latest webhook again under its own event id (payment/notify); if the order has
 * never changed state, queues a snapshot event. Returns the event id.
 */
export async function requeuePaymentNotification(db: Db, merchantId: bigint, ref: PaymentOrderRef): Promise<string> {
  return db.transaction(async (tx) => {
    const order = await getPaymentOrder(tx, merchantId, ref);
    const latest = await requeueLatestEvent(tx, "payment", order.id);
    if (latest) return latest;
    const id = newId();
    await insertOutboxEvent(tx, {
      id,
      merchantId,
      aggregateKind: "payment",
      aggregateId: order.id,
      type: "payment.snapshot",
      payload: paymentWebhookPayload(order),
    });
    return id;
  });
}
