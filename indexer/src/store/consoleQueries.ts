import type { Queryable } from "./db.js";
import { toPaymentOrder, type PaymentOrderRecord } from "./paymentOrders.js";
import { toPayoutOrder, type PayoutOrderKind, type PayoutOrderRecord } from "./payoutOrders.js";
import { toRecharge, type RechargeOrderRecord } from "./rechargeOrders.js";

/**
 * The merchant console's reads: order lists with filters, an order's timeline and chain transactions, the
 * overview's figures and the approval queue. Every query is scoped to one merchant and to the chains the
 * console shows (live or sandbox), so another merchant's order is never found.
 */

export type ConsoleOrderKind = "payment" | PayoutOrderKind | "recharge";
export const CONSOLE_ORDER_KINDS: readonly ConsoleOrderKind[] = ["payment", "refund", "recharge", "withdrawal", "settlement"];

/** One order of any kind, as the store's record of its kind. */
export type ConsoleOrder =
  | { kind: "payment"; order: PaymentOrderRecord }
  | { kind: "recharge"; order: RechargeOrderRecord }
  | { kind: PayoutOrderKind; order: PayoutOrderRecord };

export type ConsoleOrderFilter = {
  /** the chains the console shows; orders of other chains are never listed */
  chainIds: readonly number[];
  status?: number;
  chainId?: number;
  /** lowercase; 0x000…0 for the native coin */
  tokenAddress?: string;
  /** created at or after */
  from?: Date;
  /** created before */
  to?: Date;
  /** an order number: the gateway's order id or the merchant's own id, exactly */
  ref?: string;
  /** a transaction hash of the order (a payment's transfers, a payout's transaction, a recharge's deposit) */
  txHash?: string;
  /** free text: part of the merchant's id, or an id, address or hash in full (case-insensitive) */
  q?: string;
};

type KindSql = {
  from: string;
  chain: string;
  token: string;
  merchantRef: string;
  /** a condition on the order's transactions, `?` = the hash */
  tx: string;
  /** columns an address or id search compares in full */
  exact: string[];
  map: (r: Record<string, any>) => ConsoleOrder;
};

const payout = (kind: PayoutOrderKind) => (r: Record<string, any>) => ({ kind, order: toPayoutOrder(kind, r) }) as ConsoleOrder;

const KIND_SQL: Record<ConsoleOrderKind, KindSql> = {
  payment: {
    from: "SELECT o.* FROM payment_orders o",
    chain: "o.chain_id",
    token: "o.token_address",
    merchantRef: "o.merchant_order_id",
    tx: "EXISTS (SELECT 1 FROM payment_transfers t WHERE t.pay_order_id = o.id AND t.tx_hash = ?)",
    exact: ["o.id", "o.receipt_address", "o.payer_address"],
    map: (r) => ({ kind: "payment", order: toPaymentOrder(r) }),
  },
  refund: {
    from: `SELECT o.*, o.refund_no AS no, 1 AS line, o.merchant_refund_id AS merchant_ref, p.merchant_order_id, p.chain_id, p.token_address,
             p.token_decimals
           FROM refund_orders o JOIN payment_orders p ON p.id = o.pay_order_id`,
    chain: "p.chain_id",
    token: "p.token_address",
    merchantRef: "o.merchant_refund_id",
    tx: "o.tx_hash = ?",
    exact: ["o.id", "o.pay_order_id", "p.merchant_order_id", "o.to_address", "o.tx_hash"],
    map: payout("refund"),
  },
  withdrawal: {
    // a line of a withdrawal application: the application's public id, outTradeNo and notify URL
    from: `SELECT o.*, o.withdraw_id AS no, o.line_no AS line, w.out_trade_no AS merchant_ref, w.notify_url AS app_notify_url
           FROM withdrawal_orders o JOIN withdrawals w ON w.id = o.withdraw_id`,
    chain: "o.chain_id",
    token: "o.token_address",
    merchantRef: "w.out_trade_no",
    tx: "o.tx_hash = ?",
    exact: ["o.id", "o.to_address", "o.tx_hash"],
    map: payout("withdrawal"),
  },
  settlement: {
    from: "SELECT o.*, o.settlement_no AS no, 1 AS line, o.merchant_settlement_id AS merchant_ref FROM settlement_orders o",
    chain: "o.chain_id",
    token: "o.token_address",
    merchantRef: "o.merchant_settlement_id",
    tx: "o.tx_hash = ?",
    exact: ["o.id", "o.to_address", "o.tx_hash"],
    map: payout("settlement"),
  },
  recharge: {
    from: "SELECT o.*, u.uuid FROM recharge_orders o JOIN users u ON u.id = o.user_id",
    chain: "o.chain_id",
    token: "o.token_address",
    merchantRef: "u.uuid",
    tx: "o.tx_hash = ?",
    exact: ["o.id", "o.from_address", "o.to_address", "o.tx_hash"],
    map: (r) => ({ kind: "recharge", order: toRecharge(r) }),
  },
};

function whereOf(kind: ConsoleOrderKind, merchantId: bigint, f: ConsoleOrderFilter) {
  const k = KIND_SQL[kind];
  const params: unknown[] = [merchantId, f.chainIds.map(String)];
  const where = ["o.merchant_id = $1", `${k.chain} = ANY ($2::bigint[])`];
  const add = (sql: string, ...values: unknown[]) => {
    where.push(sql.replace(/\?/g, () => `$${params.push(values.shift())}`));
  };
  if (f.status !== undefined) add("o.status = ?", f.status);
  if (f.chainId !== undefined) add(`${k.chain} = ?`, f.chainId);
  if (f.tokenAddress) add(`${k.token} = ?`, f.tokenAddress.toLowerCase());
  if (f.from) add("o.created_at >= ?", f.from);
  if (f.to) add("o.created_at < ?", f.to);
  if (f.ref) add(`(o.id = ? OR ${k.merchantRef} = ?)`, f.ref, f.ref);
  if (f.txHash) add(k.tx, f.txHash.toLowerCase());
  if (f.q) {
    const q = f.q.toLowerCase();
    const exact = k.exact.map((c) => `lower(${c}) = ?`);
    add(`(strpos(lower(${k.merchantRef}), ?) > 0 OR ${exact.join(" OR ")})`, q, ...k.exact.map(() => q));
  }
  return { k, where, params };
}

/**
 * A page of a merchant's orders of one kind, newest first. `before` is the last id of the previous page
 * (ids are ULIDs: they sort by creation time); `nextCursor` is null on the last page.
 */
export async function listConsoleOrders(
  db: Queryable,
  kind: ConsoleOrderKind,
  merchantId: bigint,
  filter: ConsoleOrderFilter,
  page: { before?: string; limit: number },
): Promise<{ list: ConsoleOrder[]; nextCursor: string | null }> {
  const { k, where, params } = whereOf(kind, merchantId, filter);
  if (page.before) {
    params.push(page.before);
    where.push(`o.id < $${params.length}`);
  }
  params.push(page.limit + 1);
  const rows = await db.query(`${k.from} WHERE ${where.join(" AND ")} ORDER BY o.id DESC LIMIT $${params.length}`, params);
  const list = rows.slice(0, page.limit).map(k.map);
  return { list, nextCursor: rows.length > page.limit ? list[list.length - 1]!.order.id : null };
}

/** One order of the merchant, or null (also for another merchant's order or a chain the console does not show). */
export async function findConsoleOrder(
  db: Queryable,
  kind: ConsoleOrderKind,
  merchantId: bigint,
  id: string,
  chainIds: readonly number[],
): Promise<ConsoleOrder | null> {
  const { k, where, params } = whereOf(kind, merchantId, { chainIds });
  params.push(id);
  const [row] = await db.query(`${k.from} WHERE ${where.join(" AND ")} AND o.id = $${params.length}`, params);
  return row ? k.map(row) : null;
}

/** A state change of an order, from the outbox event it wrote (the webhook's own record). */
export type OrderTimelineEntry = {
  eventId: string;
  type: string;
  /** the state before and after; null for events that are not a move (a late transfer, a snapshot) */
  from: number | null;
  to: number | null;
  at: Date;
  /** the event's data as sent in the webhook */
  data: Record<string, unknown>;
};

/** Every event of one order, oldest first. */
export async function listOrderTimeline(
  db: Queryable,
  merchantId: bigint,
  kind: ConsoleOrderKind,
  id: string,
): Promise<OrderTimelineEntry[]> {
  const rows = await db.query(
    "SELECT id, type, payload, created_at FROM outbox_events WHERE merchant_id = $1 AND aggregate_kind = $2 AND aggregate_id = $3 ORDER BY seq",
    [merchantId, kind, id],
  );
  // a state is a small integer; anything else under `from` (the follower's events also name the transfer's
  // sender there) is not one, and the state before is then the previous move's
  const state = (v: unknown) =>
    typeof v === "number" && Number.isInteger(v) && Math.abs(v) < 10 ? v : typeof v === "string" && /^-?\d$/.test(v) ? Number(v) : null;
  let last: number | null = null;
  return rows.map((r) => {
    const payload = typeof r.payload === "string" ? JSON.parse(r.payload) : r.payload;
    const data = (payload?.data ?? {}) as Record<string, unknown>;
    const moved = typeof r.type === "string" && r.type.endsWith(".status_changed");
    const to = moved ? state(data.status) : null;
    const from = moved ? (state(data.from) ?? last) : null;
    if (to !== null) last = to;
    return { eventId: r.id, type: r.type, from, to, at: new Date(r.created_at), data };
  });
}

/** The refunds of one payment, oldest first. */
export async function listRefundsOfPayment(db: Queryable, merchantId: bigint, payOrderId: string): Promise<PayoutOrderRecord[]> {
  const rows = await db.query(`${KIND_SQL.refund.from} WHERE o.merchant_id = $1 AND o.pay_order_id = $2 ORDER BY o.id`, [
    merchantId,
    payOrderId,
  ]);
  return rows.map((r) => toPayoutOrder("refund", r));
}

export type PayoutChainTransaction = {
  txHash: string;
  /** pending, mined, reverted, replaced or dropped (the operator wallet's view) */
  status: string;
  nonce: bigint;
  sentAt: Date;
  settledAt: Date | null;
};

/**
 * Transactions the operator sent that carried one payout order (a replacement shares the nonce), oldest
 * first: sent for the order alone, for its batch, or in a relay with other payouts.
 */
export async function listPayoutTransactions(
  db: Queryable,
  order: Pick<PayoutOrderRecord, "kind" | "id" | "batchId">,
): Promise<PayoutChainTransaction[]> {
  const refs = [{ kind: order.kind, id: order.id }, ...(order.batchId ? [{ kind: "batch", id: order.batchId }] : [])];
  const rows = await db.query(
    `SELECT o.tx_hash, o.status, o.nonce, o.sent_at, o.settled_at
       FROM operator_txs o, unnest($1::text[], $2::text[]) AS w(kind, id)
      WHERE o.purpose = 'payout'
        AND ((o.ref_kind = w.kind AND o.ref_id = w.id)
          OR (o.ref_kind = 'relay' AND o.ref_id IN (SELECT relay_id FROM payout_relay_refs r WHERE r.ref_kind = w.kind AND r.ref_id = w.id)))
      ORDER BY o.sent_at, o.nonce`,
    [refs.map((r) => r.kind), refs.map((r) => r.id)],
  );
  return rows.map((r) => ({
    txHash: r.tx_hash,
    status: r.status,
    nonce: BigInt(r.nonce),
    sentAt: new Date(r.sent_at),
    settledAt: r.settled_at ? new Date(r.settled_at) : null,
  }));
}

/** The vault's PayoutExecuted of a merchant's payout id, as the follower recorded it, or null. */
export async function findPayoutExecuted(
  db: Queryable,
  p: { chainId: number; merchantId: bigint; payoutId: bigint },
): Promise<{ txHash: string; blockNumber: bigint; status: string; to: string; amount: bigint } | null> {
  const [r] = await db.query(
    `SELECT tx_hash, block_number, status, args FROM chain_vault_events
     WHERE chain_id = $1 AND name = 'PayoutExecuted' AND args->>'merchantId' = $2 AND args->>'payoutId' = $3
     ORDER BY block_number DESC LIMIT 1`,
    [p.chainId, p.merchantId.toString(), p.payoutId.toString()],
  );
  if (!r) return null;
  const args = typeof r.args === "string" ? JSON.parse(r.args) : r.args;
  return { txHash: r.tx_hash, blockNumber: BigInt(r.block_number), status: r.status, to: args.to, amount: BigInt(args.amount) };
}

// ------------------------------------------------------------------ approvals and overview

/** Payouts awaiting the merchant's approval, in payout id order (the order the vault wants them executed). */
export async function listPendingPayouts(
  db: Queryable,
  merchantId: bigint,
  chainIds: readonly number[],
  limit = 200,
): Promise<PayoutOrderRecord[]> {
  const out: PayoutOrderRecord[] = [];
  for (const kind of ["refund", "withdrawal", "settlement"] as const) {
    const { k, where, params } = whereOf(kind, merchantId, { chainIds, status: 0 });
    params.push(limit);
    const rows = await db.query(`${k.from} WHERE ${where.join(" AND ")} ORDER BY o.payout_id LIMIT $${params.length}`, params);
    out.push(...rows.map((r) => toPayoutOrder(kind, r)));
  }
  return out.sort((a, b) => (a.payoutId < b.payoutId ? -1 : 1)).slice(0, limit);
}

/** Payouts awaiting approval per kind. */
export async function countPendingPayouts(
  db: Queryable,
  merchantId: bigint,
  chainIds: readonly number[],
): Promise<Record<PayoutOrderKind, number>> {
  const [r] = await db.query<{ refund: string; withdrawal: string; settlement: string }>(
    `SELECT
       (SELECT count(*) FROM refund_orders o JOIN payment_orders p ON p.id = o.pay_order_id
         WHERE o.merchant_id = $1 AND o.status = 0 AND p.chain_id = ANY ($2::bigint[])) AS refund,
       (SELECT count(*) FROM withdrawal_orders o WHERE o.merchant_id = $1 AND o.status = 0 AND o.chain_id = ANY ($2::bigint[])) AS withdrawal,
       (SELECT count(*) FROM settlement_orders o WHERE o.merchant_id = $1 AND o.status = 0 AND o.chain_id = ANY ($2::bigint[])) AS settlement`,
    [merchantId, chainIds.map(String)],
  );
  return { refund: Number(r!.refund), withdrawal: Number(r!.withdrawal), settlement: Number(r!.settlement) };
}

export type MerchantWebhookBacklog = {
  /** undelivered, not dead, due now */
  due: number;
  /** undelivered, not dead, waiting for a retry */
  retrying: number;
  /** gave up after the whole retry schedule (re-send from the order's page) */
  dead: number;
  /** how late the oldest due event is, ms */
  oldestDueMs: number;
};

/** The merchant's webhook backlog. */
export async function merchantWebhookBacklog(db: Queryable, merchantId: bigint): Promise<MerchantWebhookBacklog> {
  const [r] = await db.query<{ due: string; retrying: string; dead: string; lag_ms: string | null }>(
    `SELECT count(*) FILTER (WHERE NOT dead AND next_attempt_at <= now()) AS due,
            count(*) FILTER (WHERE NOT dead AND next_attempt_at > now()) AS retrying,
            count(*) FILTER (WHERE dead) AS dead,
            (EXTRACT(EPOCH FROM now() - min(next_attempt_at) FILTER (WHERE NOT dead AND next_attempt_at <= now())) * 1000)::bigint::text AS lag_ms
     FROM (SELECT next_attempt_at, (dead_at IS NOT NULL AND next_attempt_at <= dead_at) AS dead
           FROM outbox_events WHERE merchant_id = $1 AND delivered_at IS NULL) e`,
    [merchantId],
  );
  return {
    due: Number(r!.due),
    retrying: Number(r!.retrying),
    dead: Number(r!.dead),
    oldestDueMs: r!.lag_ms ? Math.max(0, Number(r!.lag_ms)) : 0,
  };
}

export type DailyVolume = {
  /** UTC day, YYYY-MM-DD */
  day: string;
  chainId: number;
  /** lowercase; 0x000…0 for the native coin */
  token: string;
  /** base units confirmed that day: payments' transfers (late ones included) and recharges */
  amount: bigint;
  /** transfers counted */
  count: number;
};

/**
 * Money received per UTC day, chain and token in [from, to): confirmed payment transfers of the order's
 * token (late and over-payments included: they arrived) and successful recharges, by the time they were seen.
 */
export async function dailyVolume(
  db: Queryable,
  p: { merchantId: bigint; chainIds: readonly number[]; from: Date; to: Date },
): Promise<DailyVolume[]> {
  const rows = await db.query<{ day: string; chain_id: string; token: string; amount: string; n: string }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, chain_id, token, sum(amount)::text AS amount, sum(n)::text AS n FROM (
       SELECT date_trunc('day', t.created_at AT TIME ZONE 'UTC') AS day, t.chain_id, t.token, t.amount, 1 AS n
         FROM payment_transfers t JOIN payment_orders o ON o.id = t.pay_order_id
        WHERE o.merchant_id = $1 AND t.chain_id = ANY ($2::bigint[]) AND t.kind = 'payment' AND t.status = 'confirmed'
          AND t.created_at >= $3 AND t.created_at < $4
       UNION ALL
       SELECT date_trunc('day', r.created_at AT TIME ZONE 'UTC'), r.chain_id, r.token_address, r.amount, 1
         FROM recharge_orders r
        WHERE r.merchant_id = $1 AND r.chain_id = ANY ($2::bigint[]) AND r.status = 4 AND r.created_at >= $3 AND r.created_at < $4
     ) x GROUP BY day, chain_id, token ORDER BY day, chain_id, token`,
    [p.merchantId, p.chainIds.map(String), p.from, p.to],
  );
  return rows.map((r) => ({ day: r.day, chainId: Number(r.chain_id), token: r.token, amount: BigInt(r.amount), count: Number(r.n) }));
}
