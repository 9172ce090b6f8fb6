import type { Address } from "viem";
import { newId } from "../domain/ids.js";
import {
  minimumDue,
  PAYMENT_TERMINAL,
  PaymentStatus,
  transitionPayment,
  type PaymentEvent,
  type PaymentOrderState,
} from "../domain/orderStateMachine.js";
import { BaseError } from "../domain/errors.js";
import { formatAmount } from "../domain/money.js";
import { growPaymentPool, topUpPaymentPool } from "./addressPool.js";
import { batcherPerKey } from "./batcher.js";
import type { Db, Queryable, Row } from "./db.js";
import { IdempotencyConflictError, NotFoundError } from "./errors.js";
import { insertOutboxEvent, requeueLatestEvent } from "./outbox.js";
import { toPaymentTransfers, transfersJsonOf, type PaymentTransferRecord } from "./paymentTransfers.js";
import { recordPaymentQuote, toPaymentQuote, type PaymentQuote } from "./quotes.js";

export type { PaymentTransferRecord } from "./paymentTransfers.js";

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
  /** what the merchant asked for: a description and a quote (a symbol and a decimal amount, kept as sent) */
  description: string;
  isLegalTender: number;
  quoteSymbol: string;
  quoteAmount: string;
  /** what arrived in earlier currencies (payment/payInfo/update), in this token's base units; part of seen and paid */
  carriedAmount: bigint;
  /** isLegalTender 1: the fiat quote the amount was locked at (migration 060); null for a crypto quote */
  quote: PaymentQuote | null;
  /** when the order reached success (set by a trigger, migration 010) */
  paidAt: Date | null;
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
    toleranceBps: Number(r.underpayment_tolerance_bps ?? 0),
    receiptAddress: r.receipt_address,
    poolIndex: r.pool_index == null ? null : BigInt(r.pool_index),
    payerAddress: r.payer_address,
    notifyUrl: r.notify_url,
    redirectionUrl: r.redirection_url,
    accessSign: r.access_sign,
    description: r.description ?? "",
    isLegalTender: Number(r.is_legal_tender ?? 0),
    quoteSymbol: r.quote_symbol ?? r.token_symbol,
    quoteAmount: r.quote_amount ?? formatAmount(BigInt(r.amount), Number(r.token_decimals)),
    carriedAmount: BigInt(r.carried_amount ?? 0),
    quote: toPaymentQuote(r),
    paidAt: r.paid_at ? new Date(r.paid_at) : null,
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
  description: string;
  quoteSymbol: string;
  quoteAmount: string;
  isLegalTender: number;
  /** a fiat quote (isLegalTender 1): recorded in the same transaction as the insert (store/quotes.ts) */
  quote?: PaymentQuote;
  /** pool growth batch (default {growthBatch} of the pool size) */
  growBy?: number;
};

/** Growth attempts before giving up (each loses only to a concurrent grower, which frees addresses). */
const MAX_GROW_ATTEMPTS = 8;

const CREATE_SQL = `SELECT outcome, next_index, (o).* FROM create_payment_order($1, $2::bigint, $3, $4, $5::bigint, $6, $7, $8::smallint,
  $9::numeric, $10, $11, $12, $13::timestamptz, $14, $15, $16, $17::smallint)`;
const CREATE_BATCH_SQL = `SELECT i, outcome, next_index, (o).* FROM create_payment_orders($1::text[], $2::bigint[], $3::text[], $4::text[],
  $5::bigint[], $6::text[], $7::text[], $8::smallint[], $9::numeric[], $10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::text[],
  $15::text[], $16::text[], $17::smallint[]) ORDER BY i`;

type CreateOutcome = { outcome: string; next: bigint | null; row: Row };

/**
 * Creates a payment order and leases it a payment deposit address, in one database call (the PL/pgSQL
 * function `create_payment_order`, migration 011): idempotency, lease and insert are one statement, hence
 * one transaction and one round trip. Concurrent creates on one {Db} go together in one call
 * (`create_payment_orders`, see batcher.ts), so under load a round trip and a commit serve many.
 * Idempotent by (merchant, outTradeNo): the same request hash returns the existing order (`created:
 * false`); a different one throws {IdempotencyConflictError}.
 *
 * The lease takes the longest-rested free pool row with `FOR UPDATE SKIP LOCKED`, so concurrent creates
 * never share an address. When the pool is empty the function writes nothing and reports the counter's
 * next index; the pool then grows (addressPool.ts, one growth at a time) and the create runs again.
 */
export async function createPaymentOrder(
  db: Db,
  p: CreatePaymentOrderParameters,
): Promise<{ order: PaymentOrderRecord; created: boolean }> {
  const run = () => (p.quote ? quotedBatcherOf(db).run(p) : createBatcherOf(db).run(p));
  let r = await run();
  for (let attempt = 0; r.outcome === "pool_empty"; attempt++) {
    if (attempt >= MAX_GROW_ATTEMPTS)
      throw new BaseError("payment address pool: growth kept losing to concurrent creates", { retryable: true });
    await growPaymentPool(db, p, r.next!, p.growBy ? BigInt(p.growBy) : undefined);
    r = await run();
  }
  switch (r.outcome) {
    case "created": {
      const order = toPaymentOrder(r.row);
      if (order.poolIndex !== null) topUpPaymentPool(db, p, order.poolIndex);
      return { order, created: true };
    }
    case "existing":
      return { order: toPaymentOrder(r.row), created: false };
    case "conflict":
      throw new IdempotencyConflictError("outTradeNo", p.merchantOrderId);
    default:
      throw new BaseError(`create_payment_order answered "${r.outcome}"`);
  }
}

const createArgs = (p: CreatePaymentOrderParameters) => [
  p.id,
  p.merchantId.toString(),
  p.merchantOrderId,
  p.requestHash,
  String(p.chainId),
  p.tokenAddress.toLowerCase(),
  p.tokenSymbol,
  String(p.tokenDecimals),
  p.amount.toString(),
  p.notifyUrl,
  p.redirectionUrl,
  p.accessSign,
  p.expiresAt.toISOString(),
  p.description,
  p.quoteSymbol,
  p.quoteAmount,
  String(p.isLegalTender),
];

async function createOne(db: Queryable, p: CreatePaymentOrderParameters): Promise<CreateOutcome> {
  const [row] = await db.query(CREATE_SQL, createArgs(p));
  return toCreateOutcome(row!);
}

const CREATE_QUOTED_SQL = `SELECT i, outcome, next_index, (o).* FROM create_quoted_payment_orders($1::text[], $2::bigint[], $3::text[], $4::text[],
  $5::bigint[], $6::text[], $7::text[], $8::smallint[], $9::numeric[], $10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::text[],
  $15::text[], $16::text[], $17::smallint[], $18::text[], $19::numeric[], $20::smallint[], $21::numeric[], $22::text[], $23::timestamptz[],
  $24::timestamptz[]) ORDER BY i`;

const quoteArgs = (q: PaymentQuote) => [
  q.currency,
  q.fiatAmount.toString(),
  String(q.fiatDecimals),
  q.rate,
  JSON.stringify(q.sources),
  q.quotedAt.toISOString(),
  q.lockedUntil.toISOString(),
];

const quotedBatcherOf = batcherPerKey<Db, CreatePaymentOrderParameters, CreateOutcome>(createQuotedMany);

/**
 * Fiat-priced creates: each insert and its quote in one statement (`create_quoted_payment_orders`, migration
 * 091), so no order exists priced without its quote; batched as the other creates. An existing order (a
 * repeated request) keeps the quote it was created with.
 */
async function createQuotedMany(db: Db, items: CreatePaymentOrderParameters[]): Promise<(CreateOutcome | Error)[]> {
  const args = items.map((p) => [...createArgs(p), ...quoteArgs(p.quote!)]);
  const columns = args[0]!.map((_, c) => args.map((a) => a[c]));
  try {
    return (await db.query(CREATE_QUOTED_SQL, columns, { prepare: "create_quoted_payment_orders" })).map(toCreateOutcome);
  } catch (e) {
    if (items.length === 1) return [e as Error];
    // one bad item (or a deadlock between batches) fails alone
    return Promise.all(items.map((p) => createQuotedMany(db, [p]).then((r) => r[0]!)));
  }
}

const toCreateOutcome = (row: Row): CreateOutcome => ({
  outcome: row.outcome,
  next: row.next_index == null ? null : BigInt(row.next_index),
  row,
});

const createBatcherOf = batcherPerKey<Db, CreatePaymentOrderParameters, CreateOutcome>(createMany);

/** One statement for many creates; if it fails (a deadlock between batches, say), each item alone. */
async function createMany(db: Db, items: CreatePaymentOrderParameters[]): Promise<(CreateOutcome | Error)[]> {
  const one = (p: CreatePaymentOrderParameters) => createOne(db, p).catch((e: Error) => e);
  if (items.length === 1) return [await one(items[0]!)];
  const args = items.map(createArgs);
  let rows: Row[];
  try {
    rows = await db.query(
      CREATE_BATCH_SQL,
      args[0]!.map((_, c) => args.map((a) => a[c])),
      { prepare: "create_payment_orders" },
    );
  } catch {
    return Promise.all(items.map(one));
  }
  return rows.map(toCreateOutcome);
}

/**
 * The order a repeated create names (same merchant and outTradeNo), as createPaymentOrder would answer it:
 * `null` when there is none; {IdempotencyConflictError} when it was created from other parameters. A fiat
 * create asks this when no quote can be made now, so a retry of a create that succeeded still answers its order.
 */
export async function findRepeatedPaymentOrder(
  db: Queryable,
  p: { merchantId: bigint; merchantOrderId: string; requestHash: string },
): Promise<PaymentOrderRecord | null> {
  const [row] = await db.query("SELECT * FROM payment_orders WHERE merchant_id = $1 AND merchant_order_id = $2", [
    p.merchantId,
    p.merchantOrderId,
  ]);
  if (!row) return null;
  if (row.request_hash !== p.requestHash) throw new IdempotencyConflictError("outTradeNo", p.merchantOrderId);
  return toPaymentOrder(row);
}

/** outTradeNo and/or outPaymentNo (at least one; both must match when both are given). */
export type PaymentOrderRef = { payOrderId?: string; merchantOrderId?: string };

const refLabel = (ref: PaymentOrderRef) => ref.merchantOrderId ?? ref.payOrderId ?? "";

/** A merchant's payment order by reference; throws {NotFoundError}. */
export async function getPaymentOrder(
  db: Queryable,
  merchantId: bigint,
  ref: PaymentOrderRef,
  forUpdate = false,
): Promise<PaymentOrderRecord> {
  const [row] = await db.query(
    `SELECT * FROM payment_orders WHERE merchant_id = $1 AND ${refWhere(ref, "")}${forUpdate ? " FOR UPDATE" : ""}`,
    [merchantId, ref.merchantOrderId ?? null, ref.payOrderId ?? null],
  );
  if (!row) throw new NotFoundError("payment", refLabel(ref));
  return toPaymentOrder(row);
}

const refWhere = (ref: PaymentOrderRef, t: string) =>
  ref.merchantOrderId !== undefined
    ? `${t}merchant_order_id = $2 AND ($3::text IS NULL OR ${t}id = $3)`
    : `${t}id = $3 AND $2::text IS NULL`;

// ------------------------------------------------------------------ the read model of payment/detail, list and callbacks

/** A chain and token the order was payable in before payment/payInfo/update moved it. */
export type PaymentChoiceRecord = {
  chainId: number;
  tokenAddress: string;
  tokenSymbol: string;
  tokenDecimals: number;
  receiptAddress: string | null;
  poolIndex: bigint | null;
  amount: bigint;
  seenAmount: bigint;
  paidAmount: bigint;
  switchedAt: Date;
};

export type PaymentOrderView = PaymentOrderRecord & {
  /** refunds of this order that were paid on chain */
  refundPaidAmount: bigint;
  transfers: PaymentTransferRecord[];
  choices: PaymentChoiceRecord[];
};

// one statement gives the order with everything its detail shows (an index probe each, no extra round trip)
const VIEW_COLUMNS = `o.*,
  (SELECT coalesce(sum(r.amount), 0) FROM refund_orders r WHERE r.pay_order_id = o.id AND r.status = 3)::text AS refund_paid_amount,
  ${transfersJsonOf("o.id")} AS transfers_json,
  (SELECT jsonb_agg(jsonb_build_object('chainId', c.chain_id, 'tokenAddress', c.token_address, 'tokenSymbol', c.token_symbol,
       'tokenDecimals', c.token_decimals, 'receiptAddress', c.receipt_address, 'poolIndex', c.pool_index::text, 'amount', c.amount::text,
       'seenAmount', c.seen_amount::text, 'paidAmount', c.paid_amount::text, 'switchedAt', c.switched_at) ORDER BY c.seq)
   FROM payment_order_choices c WHERE c.pay_order_id = o.id) AS choices_json`;

const parseJson = (v: unknown): any[] => (v == null ? [] : typeof v === "string" ? JSON.parse(v) : (v as any[]));

export function toPaymentView(r: Record<string, any>): PaymentOrderView {
  return {
    ...toPaymentOrder(r),
    refundPaidAmount: BigInt(r.refund_paid_amount ?? 0),
    transfers: toPaymentTransfers(r.transfers_json),
    choices: parseJson(r.choices_json).map((c) => ({
      chainId: Number(c.chainId),
      tokenAddress: c.tokenAddress,
      tokenSymbol: c.tokenSymbol,
      tokenDecimals: Number(c.tokenDecimals),
      receiptAddress: c.receiptAddress ?? null,
      poolIndex: c.poolIndex == null ? null : BigInt(c.poolIndex),
      amount: BigInt(c.amount),
      seenAmount: BigInt(c.seenAmount),
      paidAmount: BigInt(c.paidAmount),
      switchedAt: new Date(c.switchedAt),
    })),
  };
}

type ViewRequest = { merchantId: bigint; ref: PaymentOrderRef };
const viewBatcherOf = batcherPerKey<Db, ViewRequest, Row | null>(readViews);

/**
 * A merchant's payment order with its refunds paid, transfers and earlier currencies: what payment/detail
 * answers and a payment callback carries. Concurrent reads on one {Db} go in one statement (batcher.ts):
 * a signed detail costs no write and, under load, a fraction of a round trip. Throws {NotFoundError}.
 */
export async function getPaymentView(db: Db, merchantId: bigint, ref: PaymentOrderRef): Promise<PaymentOrderView> {
  const row = await viewBatcherOf(db).run({ merchantId, ref });
  if (!row) throw new NotFoundError("payment", refLabel(ref));
  return toPaymentView(row);
}

async function readViews(db: Db, items: ViewRequest[]): Promise<(Row | null)[]> {
  const rows = await db.query(
    `SELECT r.n, v.* FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY AS r(merchant_id, out_trade_no, out_payment_no, n)
     LEFT JOIN LATERAL (
       SELECT ${VIEW_COLUMNS} FROM payment_orders o
       WHERE r.out_trade_no IS NOT NULL AND o.merchant_id = r.merchant_id AND o.merchant_order_id = r.out_trade_no
         AND (r.out_payment_no IS NULL OR o.id = r.out_payment_no)
       UNION ALL
       SELECT ${VIEW_COLUMNS} FROM payment_orders o
       WHERE r.out_trade_no IS NULL AND o.id = r.out_payment_no AND o.merchant_id = r.merchant_id
     ) v ON true
     ORDER BY r.n`,
    [
      items.map((i) => i.merchantId.toString()),
      items.map((i) => i.ref.merchantOrderId ?? null),
      items.map((i) => i.ref.payOrderId ?? null),
    ],
    { prepare: "payment_views" },
  );
  return rows.map((r) => (r.id == null ? null : r));
}

/** The view of an order by its id alone (the notifier's read; no merchant filter). */
export async function getPaymentViewById(db: Queryable, id: string): Promise<PaymentOrderView | null> {
  const [row] = await db.query(`SELECT ${VIEW_COLUMNS} FROM payment_orders o WHERE o.id = $1`, [id]);
  return row ? toPaymentView(row) : null;
}

/** SQL of "paid refunds cover everything paid" for the order aliased `o`. */
const FULLY_REFUNDED = `(SELECT coalesce(sum(r.amount), 0) FROM refund_orders r WHERE r.pay_order_id = o.id AND r.status = 3) >= GREATEST(o.paid_amount, 1)`;

/** Filters of payment/list in the store's terms (the wire maps Pay Protocol's orderStatus onto them). */
export type PaymentListFilter = {
  chainId?: number;
  /** domain states (PaymentStatus) */
  statuses?: readonly number[];
  /** true: only orders whose paid refunds cover what was paid; false: only the others */
  fullyRefunded?: boolean;
  txHash?: string;
  /** creation time, inclusive bounds */
  createdFrom?: Date;
  createdTo?: Date;
};

export type Page = { page: number; size: number };

/** A page of a merchant's payment orders (views), newest first, and how many match. */
export async function listPaymentViews(
  db: Queryable,
  merchantId: bigint,
  f: PaymentListFilter,
  p: Page,
): Promise<{ count: number; list: PaymentOrderView[] }> {
  const where = ["o.merchant_id = $1"];
  const params: unknown[] = [merchantId];
  const add = (sql: string, ...v: unknown[]) => {
    let s = sql;
    for (const x of v) {
      params.push(x);
      s = s.replace("?", `$${params.length}`);
    }
    where.push(s);
  };
  if (f.chainId !== undefined) add("o.chain_id = ?", f.chainId);
  if (f.statuses) add("o.status = ANY(?::smallint[])", f.statuses);
  if (f.fullyRefunded !== undefined) where.push(f.fullyRefunded ? FULLY_REFUNDED : `NOT ${FULLY_REFUNDED}`);
  if (f.txHash) add("EXISTS (SELECT 1 FROM payment_transfers t WHERE t.pay_order_id = o.id AND t.tx_hash = ?)", f.txHash.toLowerCase());
  if (f.createdFrom) add("o.created_at >= ?", f.createdFrom);
  if (f.createdTo) add("o.created_at <= ?", f.createdTo);
  const w = where.join(" AND ");
  const [c] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM payment_orders o WHERE ${w}`, params);
  const rows = await db.query(
    `SELECT ${VIEW_COLUMNS} FROM payment_orders o WHERE ${w} ORDER BY o.created_at DESC, o.id DESC LIMIT ${p.size} OFFSET ${(p.page - 1) * p.size}`,
    params,
  );
  return { count: Number(c!.n), list: rows.map(toPaymentView) };
}

// ------------------------------------------------------------------ moves

/** The webhook body of a payment order (the outbox's record of the order at the event; callbacks show the current object). */
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
    await tx.query(`UPDATE address_pool SET order_id = NULL, available_at = now() + make_interval(secs => $2) WHERE order_id = $1`, [
      order.id,
      poolCooldownSeconds,
    ]);
  }
  return updated;
}

/**
 * Queues one more callback of the order (payment/notify): its latest event again under its own id, sent
 * whatever status change it records; if the order has never changed state, a snapshot event. Returns the
 * event id.
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

// ------------------------------------------------------------------ payment/payInfo/update

/** Why an order cannot move to another currency now (the API answers 40902 with it). */
/** Why an order cannot move: "closed" (not open any more), "confirming" (a transfer awaits depth), "amount" (the new amounts do not work). */
export type PaymentMoveRefusal = "closed" | "confirming" | "amount";

export class PaymentMoveRefusedError extends BaseError {
  override name = "PaymentMoveRefusedError";
  constructor(
    message: string,
    readonly refusal: PaymentMoveRefusal,
  ) {
    super(message);
  }
}

export type MovePaymentOrderParameters = {
  merchantId: bigint;
  ref: PaymentOrderRef;
  /** the chain and token the order moves to */
  to: { chainId: number; vault: Address; initCodeHash: `0x${string}`; tokenAddress: string; tokenSymbol: string; tokenDecimals: number };
  /**
   * The new amounts in the new token's base units, from the locked order: `expectedAmount`, the amount due
   * for the whole quote, and `carriedAmount`, what already arrived (order.paidAmount, in order.tokenDecimals)
   * as worth in the new token. A crypto quote converts 1:1 by decimals; a fiat quote prices both.
   */
  quote: (order: PaymentOrderRecord) => { expectedAmount: bigint; carriedAmount: bigint };
  /**
   * A fiat order's re-quote in the new coin (isLegalTender 1): recorded with the move in its transaction,
   * and the order's countdown starts again at `expiresAt` (the quote's lockedUntil).
   */
  requote?: { quote: PaymentQuote; expiresAt: Date };
  poolCooldownSeconds: number;
};

/**
 * Moves an open payment order to another chain or token of its quote (payment/payInfo/update): the current
 * choice is kept in payment_order_choices (with what arrived there), its address goes to its cool-down, a
 * new address is leased on the new chain, and the order takes the new expected amount with what already
 * arrived carried into seen and paid. Refused while a transfer awaits confirmations (it would count in the
 * old token). The same chain and token again changes nothing. One transaction; an empty pool grows first.
 */
export async function movePaymentOrder(db: Db, p: MovePaymentOrderParameters): Promise<{ order: PaymentOrderRecord; moved: boolean }> {
  for (let attempt = 0; ; attempt++) {
    let r: { order: PaymentOrderRecord; moved: boolean };
    try {
      r = await db.transaction((tx) => moveLocked(tx, p));
    } catch (e) {
      if (!(e instanceof PoolEmptySignal) || attempt >= MAX_GROW_ATTEMPTS) throw e;
      await growPaymentPool(
        db,
        { merchantId: p.merchantId, chainId: p.to.chainId, vault: p.to.vault, initCodeHash: p.to.initCodeHash },
        e.next,
      );
      continue;
    }
    return r;
  }
}

/** The move in the caller's transaction; throws {PoolEmptySignal} (rolling it back) when the new chain's pool is empty. */
async function moveLocked(tx: Queryable, p: MovePaymentOrderParameters): Promise<{ order: PaymentOrderRecord; moved: boolean }> {
  const order = await getPaymentOrder(tx, p.merchantId, p.ref, true);
  if (order.chainId === p.to.chainId && order.tokenAddress === p.to.tokenAddress.toLowerCase()) return { order, moved: false };
  if (order.status !== PaymentStatus.Unpaid && order.status !== PaymentStatus.Incomplete) {
    throw new PaymentMoveRefusedError(
      `The order is in state ${order.status}: only an unpaid or partly paid order can change its currency`,
      "closed",
    );
  }
  if (order.expiresAt.getTime() <= Date.now()) throw new PaymentMoveRefusedError("The order has expired: create a new order", "closed");
  if (order.seenAmount !== order.paidAmount) {
    throw new PaymentMoveRefusedError(
      "A transfer to the order's address is waiting for its confirmations: change the currency after it is confirmed",
      "confirming",
    );
  }
  const { expectedAmount, carriedAmount } = p.quote(order);
  if (expectedAmount <= 0n) throw new PaymentMoveRefusedError("The new expected amount must be greater than zero", "amount");
  if (carriedAmount >= minimumDue({ amount: expectedAmount, toleranceBps: order.toleranceBps }))
    throw new PaymentMoveRefusedError("What already arrived covers the order in the new currency", "amount");
  await tx.query(
    `INSERT INTO payment_order_choices (pay_order_id, seq, chain_id, token_address, token_symbol, token_decimals, receipt_address, pool_index,
       amount, seen_amount, paid_amount)
     SELECT $1, coalesce((SELECT max(seq) FROM payment_order_choices WHERE pay_order_id = $1), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10`,
    [
      order.id,
      order.chainId,
      order.tokenAddress,
      order.tokenSymbol,
      order.tokenDecimals,
      order.receiptAddress,
      order.poolIndex,
      order.amount,
      order.seenAmount,
      order.paidAmount,
    ],
  );
  // the old address rests (a late payment to it is not credited to the next order), then the new one is leased
  await tx.query(`UPDATE address_pool SET order_id = NULL, available_at = now() + make_interval(secs => $2) WHERE order_id = $1`, [
    order.id,
    p.poolCooldownSeconds,
  ]);
  const [lease] = await tx.query<{ pool_index: string; address: string }>(
    `UPDATE address_pool a SET order_id = $3, leased_at = now()
     WHERE a.merchant_id = $1 AND a.chain_id = $2 AND a.pool_index = (
       SELECT f.pool_index FROM address_pool f
       WHERE f.merchant_id = $1 AND f.chain_id = $2 AND f.order_id IS NULL AND f.available_at <= now()
       ORDER BY f.available_at LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING a.pool_index, a.address`,
    [p.merchantId, p.to.chainId, order.id],
  );
  if (!lease) {
    const [c] = await tx.query<{ next_index: string | null }>(
      "SELECT (SELECT next_index FROM address_pool_counters WHERE merchant_id = $1 AND chain_id = $2) AS next_index",
      [p.merchantId, p.to.chainId],
    );
    throw new PoolEmptySignal(BigInt(c!.next_index ?? 0)); // rolls the move back; the pool grows, then the move runs again
  }
  const status = carriedAmount > 0n ? PaymentStatus.Incomplete : PaymentStatus.Unpaid;
  const [updated] = await tx.query(
    `UPDATE payment_orders SET chain_id = $2, token_address = $3, token_symbol = $4, token_decimals = $5, amount = $6, seen_amount = $7,
       paid_amount = $7, carried_amount = $7, status = $8, receipt_address = $9, pool_index = $10, expires_at = coalesce($11, expires_at),
       updated_at = now()
     WHERE id = $1 RETURNING *`,
    [
      order.id,
      p.to.chainId,
      p.to.tokenAddress.toLowerCase(),
      p.to.tokenSymbol,
      p.to.tokenDecimals,
      expectedAmount,
      carriedAmount,
      status,
      lease.address,
      lease.pool_index,
      p.requote?.expiresAt ?? null,
    ],
  );
  let row = updated;
  if (p.requote) {
    await recordPaymentQuote(tx, { merchantId: p.merchantId, payOrderId: order.id, quote: p.requote.quote });
    [row] = await tx.query("SELECT * FROM payment_orders WHERE id = $1", [order.id]);
  }
  const moved = toPaymentOrder(row!);
  await insertOutboxEvent(tx, {
    id: newId(),
    merchantId: order.merchantId,
    aggregateKind: "payment",
    aggregateId: order.id,
    type: status === order.status ? "payment.currency_changed" : "payment.status_changed",
    payload: { ...paymentWebhookPayload(moved), from: order.status, status, fromChainId: order.chainId, fromToken: order.tokenAddress },
  });
  return { order: moved, moved: true };
}

class PoolEmptySignal extends BaseError {
  constructor(readonly next: bigint) {
    super("payment address pool empty", { retryable: true });
  }
}
