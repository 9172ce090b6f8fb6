import type { Address } from "viem";
import { newId } from "../domain/ids.js";
import {
  PAYMENT_TERMINAL,
  transitionPayment,
  type PaymentEvent,
  type PaymentOrderState,
  type PaymentStatus,
} from "../domain/orderStateMachine.js";
import { BaseError } from "../domain/errors.js";
import { growPaymentPool, topUpPaymentPool } from "./addressPool.js";
import { batcherPerKey } from "./batcher.js";
import type { Db, Queryable, Row } from "./db.js";
import { IdempotencyConflictError, NotFoundError } from "./errors.js";
import { NonceReusedError, type RequestNonce } from "./nonces.js";
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
  /** pool growth batch (default {growthBatch} of the pool size) */
  growBy?: number;
  /**
   * The signed request's nonce, when the caller left it to this call (api/auth.ts `foldNonce`): it is
   * recorded in the same statement, and a reused one throws {NonceReusedError} with nothing written.
   */
  nonce?: RequestNonce;
};

/** Growth attempts before giving up (each loses only to a concurrent grower, which frees addresses). */
const MAX_GROW_ATTEMPTS = 8;

const CREATE_SQL = `SELECT outcome, next_index, (o).* FROM create_payment_order($1, $2, $3, $4::bigint, $5, $6, $7::bigint, $8, $9,
  $10::smallint, $11::numeric, $12, $13, $14, $15::timestamptz, $16::bigint, $17::text[])`;
const CREATE_BATCH_SQL = `SELECT i, outcome, next_index, (o).* FROM create_payment_orders($1::text[], $2::text[], $3::text[],
  $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::smallint[], $11::numeric[], $12::text[],
  $13::text[], $14::text[], $15::timestamptz[]) ORDER BY i`;

type CreateOutcome = { outcome: string; next: bigint | null; row: Row };

/**
 * Creates a payment order and leases it a payment deposit address, in one database call (the PL/pgSQL
 * function `create_payment_order`, migration 003): nonce (if given), idempotency, lease and order insert
 * are one statement, hence one transaction and one round trip. Concurrent creates on one {Db} go
 * together in one call (`create_payment_orders`, see batcher.ts), so under load a round trip and a commit
 * serve many. Idempotent by (merchant, merchantOrderId): the same request hash returns the existing order
 * (`created: false`); a different one throws {IdempotencyConflictError} (the nonce stays used).
 *
 * The lease takes the longest-rested free pool row with `FOR UPDATE SKIP LOCKED`, so concurrent creates
 * never share an address. When the pool is empty the function writes nothing and reports the counter's
 * next index; the pool then grows (addressPool.ts, one growth at a time) and the create runs again. A
 * lease near the top of the pool tops it up in the background, so a busy merchant's creates rarely wait.
 */
export async function createPaymentOrder(
  db: Db,
  p: CreatePaymentOrderParameters,
): Promise<{ order: PaymentOrderRecord; created: boolean }> {
  let r = await createBatcherOf(db).run(p);
  for (let attempt = 0; r.outcome === "pool_empty"; attempt++) {
    if (attempt >= MAX_GROW_ATTEMPTS)
      throw new BaseError("payment address pool: growth kept losing to concurrent creates", { retryable: true });
    await growPaymentPool(db, p, r.next!, p.growBy ? BigInt(p.growBy) : undefined);
    r = await createBatcherOf(db).run(p);
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
      throw new IdempotencyConflictError("merchantOrderId", p.merchantOrderId);
    case "nonce_reused":
      throw new NonceReusedError();
    default:
      throw new BaseError(`create_payment_order answered "${r.outcome}"`);
  }
}

async function createOne(db: Queryable, p: CreatePaymentOrderParameters): Promise<CreateOutcome> {
  const [row] = await db.query(CREATE_SQL, [
    p.nonce?.keyId ?? null,
    p.nonce?.nonce ?? null,
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
    null, // growth goes through grow_address_pool (addressPool.ts), not through a create
    null,
  ]);
  return toCreateOutcome(row!);
}

const toCreateOutcome = (row: Row): CreateOutcome => ({
  outcome: row.outcome,
  next: row.next_index == null ? null : BigInt(row.next_index),
  row,
});

/** Per item of a batch: whether its nonce came earlier in the same batch (the first goes to the database, the others are replays). */
function replayedInBatch(nonces: (RequestNonce | undefined)[]): boolean[] {
  const seen = new Set<string>();
  return nonces.map((n) => {
    if (!n) return false;
    const k = `${n.keyId}\n${n.nonce}`;
    return seen.has(k) || !seen.add(k);
  });
}

const createBatcherOf = batcherPerKey<Db, CreatePaymentOrderParameters, CreateOutcome>(createMany);

/** One statement for many creates; if it fails (a deadlock between batches, say), each item alone. */
async function createMany(db: Db, items: CreatePaymentOrderParameters[]): Promise<(CreateOutcome | Error)[]> {
  const one = (p: CreatePaymentOrderParameters) => createOne(db, p).catch((e: Error) => e);
  if (items.length === 1) return [await one(items[0]!)];
  const replay = replayedInBatch(items.map((p) => p.nonce));
  const send = items.filter((_, i) => !replay[i]);
  const col = <T>(f: (p: CreatePaymentOrderParameters) => T) => send.map(f);
  let rows: Row[];
  try {
    rows = await db.query(CREATE_BATCH_SQL, [
      col((p) => p.nonce?.keyId ?? null),
      col((p) => p.nonce?.nonce ?? null),
      col((p) => p.id),
      col((p) => p.merchantId.toString()),
      col((p) => p.merchantOrderId),
      col((p) => p.requestHash),
      col((p) => String(p.chainId)),
      col((p) => p.tokenAddress.toLowerCase()),
      col((p) => p.tokenSymbol),
      col((p) => String(p.tokenDecimals)),
      col((p) => p.amount.toString()),
      col((p) => p.notifyUrl),
      col((p) => p.redirectionUrl),
      col((p) => p.accessSign),
      col((p) => p.expiresAt.toISOString()),
    ]);
  } catch {
    return Promise.all(items.map((p, i) => (replay[i] ? { outcome: "nonce_reused", next: null, row: {} } : one(p))));
  }
  let k = 0;
  return items.map((_, i) => (replay[i] ? { outcome: "nonce_reused", next: null, row: {} } : toCreateOutcome(rows[k++]!)));
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

/**
 * `getPaymentOrder` for a signed read whose nonce was left to this call: records the nonce and reads
 * the order in one statement (`payment_order_details`, migration 003; that transaction writes only nonces
 * and commits asynchronously, see indexer/README.md). Concurrent reads on one {Db} go in one statement
 * (batcher.ts). Throws {NonceReusedError} (the order is not read) or {NotFoundError}.
 */
export async function getPaymentOrderOnce(db: Db, merchantId: bigint, ref: PaymentOrderRef, nonce: RequestNonce) {
  const row = await detailBatcherOf(db).run({ merchantId, ref, nonce });
  if (row === "nonce_reused") throw new NonceReusedError();
  if (!row) throw new NotFoundError("payment", ref.payOrderId ?? ref.merchantOrderId ?? "");
  return toPaymentOrder(row);
}

type DetailRequest = {
  merchantId: bigint;
  ref: PaymentOrderRef;
  nonce: RequestNonce;
};
const detailBatcherOf = batcherPerKey<Db, DetailRequest, Row | null | "nonce_reused">(readMany);

async function readMany(db: Db, items: DetailRequest[]): Promise<(Row | null | "nonce_reused")[]> {
  const replay = replayedInBatch(items.map((r) => r.nonce));
  const send = items.filter((_, i) => !replay[i]);
  const rows = await db.query(
    "SELECT fresh, (o).* FROM payment_order_details($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[]) ORDER BY i",
    [
      send.map((r) => r.nonce.keyId),
      send.map((r) => r.nonce.nonce),
      send.map((r) => r.merchantId.toString()),
      send.map((r) => r.ref.payOrderId ?? null),
      send.map((r) => (r.ref.payOrderId ? null : r.ref.merchantOrderId ?? null)),
    ],
  );
  let k = 0;
  return items.map((_, i) => {
    if (replay[i]) return "nonce_reused";
    const row = rows[k++]!;
    if (!row.fresh) return "nonce_reused";
    return row.id == null ? null : row;
  });
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
