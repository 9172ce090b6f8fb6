import { getAddress, type Address, type Hex } from "viem";
import { newId } from "../domain/ids.js";
import {
  openPayout,
  payoutHoldsFunds,
  PayoutStatus,
  transitionPayment,
  transitionPayout,
  type OutboxEvent,
  type PayoutEvent,
  type PayoutOrderState,
  type Transition,
} from "../domain/orderStateMachine.js";
import { PayoutKind, type Payout, type PayoutBatch } from "../domain/payoutTypedData.js";
import type { Db, Queryable } from "./db.js";
import { NotFoundError } from "./errors.js";
import { insertOutboxEvent, requeueLatestEvent } from "./outbox.js";
import type { Page } from "./paymentOrders.js";

/**
 * The one store module for payouts from the vault: refunds, user withdrawals and merchant settlements.
 * They share one state machine (domain/orderStateMachine.ts `transitionPayout`), one per-merchant payout id
 * counter and the same approve / reject / execute / settle steps; each kind keeps its own table (its own
 * create function lives in refundOrders.ts, withdrawalOrders.ts, settlementOrders.ts). Refunds alone hold
 * an amount reserved on their payment order, released here when a refund is rejected or fails.
 *
 * What a merchant sees is an *application* with a public integer id (refundId, withdrawId, settlementId):
 * one payout for a refund or a settlement, one payout per recipient (a *line*) for a withdrawal, since the
 * vault pays one recipient per payout. Every row of the three tables is one payout with its own payout id;
 * the executor and the chain follower work per row. Approval and rejection work per application.
 *
 * Every state change writes its outbox event (webhook) in the same transaction; the event's aggregate is
 * the application (aggregate_id = its public id), and a withdrawal writes one only when the status of the
 * application as a whole changes.
 */

export type PayoutOrderKind = "refund" | "withdrawal" | "settlement";
export type PayoutApprover = "merchant" | "gateway";

/** The vault's PayoutKind of each order kind (the `kind` field of the signed EIP-712 Payout). */
export const PAYOUT_KIND_CODE: Record<PayoutOrderKind, PayoutKind> = {
  refund: PayoutKind.Refund,
  withdrawal: PayoutKind.Withdrawal,
  settlement: PayoutKind.Settlement,
};

/** One payout (a row of refund_orders, withdrawal_orders or settlement_orders). */
export type PayoutOrderRecord = {
  kind: PayoutOrderKind;
  /** the row id (ULID) */
  id: string;
  /** the application's public integer id: refundId, withdrawId or settlementId */
  no: bigint;
  /** 1, 2, … within a withdrawal; 1 for refunds and settlements */
  lineNo: number;
  merchantId: bigint;
  /** the merchant's own idempotency key: a refund's outRefundNo, a withdrawal's or settlement's outTradeNo */
  merchantRef: string | null;
  chainId: number;
  /** lowercase; 0x000…0 for the native coin */
  tokenAddress: string;
  /** base units */
  amount: bigint;
  /** lowercase recipient */
  toAddress: string;
  status: PayoutStatus;
  payoutId: bigint;
  payoutDeadline: Date;
  payoutSignature: string | null;
  /** who signed the approval: the merchant's own key or the gateway-held key; null until approved */
  approvedBy: PayoutApprover | null;
  /** the payout batch whose one signature approved this line (payout_batches.id); null when signed alone */
  batchId: string | null;
  txHash: string | null;
  reason: string | null;
  /** the vault's last PayoutSkipped reason for this payout while it may still be paid (migration 095) */
  skipReason: string | null;
  notifyUrl: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** refunds: the payment refunded, its outTradeNo and token decimals */
  payOrderId: string | null;
  merchantOrderId: string | null;
  tokenDecimals: number | null;
  /** withdrawals recorded before migration 010: the merchant's user */
  userId: bigint | null;
};

/** What a merchant sees: a refund, a withdrawal (with one or more lines) or a settlement. */
export type PayoutApplication = {
  kind: PayoutOrderKind;
  no: bigint;
  merchantId: bigint;
  merchantRef: string | null;
  chainId: number;
  tokenAddress: string;
  notifyUrl: string | null;
  createdAt: Date;
  /** the application's state from its lines' ({applicationStatus}) */
  status: PayoutStatus;
  /** in line order; one for refunds and settlements */
  lines: PayoutOrderRecord[];
};

/** Which application: its public id, the merchant's idempotency key, and (refunds) the payment's outTradeNo; all given must match. */
export type PayoutRef = { no?: bigint; merchantRef?: string; paymentOutTradeNo?: string };

type KindTable = { table: string; noColumn: string; refColumn: string; select: string };

// Refunds carry no chain or token of their own: they are the payment's. A withdrawal line's key and URL are its application's.
const KINDS: Record<PayoutOrderKind, KindTable> = {
  refund: {
    table: "refund_orders",
    noColumn: "o.refund_no",
    refColumn: "o.merchant_refund_id",
    select: `SELECT o.*, o.refund_no AS no, 1 AS line, o.merchant_refund_id AS merchant_ref, p.merchant_order_id, p.chain_id, p.token_address, p.token_decimals
             FROM refund_orders o JOIN payment_orders p ON p.id = o.pay_order_id`,
  },
  withdrawal: {
    table: "withdrawal_orders",
    noColumn: "o.withdraw_id",
    refColumn: "w.out_trade_no",
    select: `SELECT o.*, o.withdraw_id AS no, o.line_no AS line, w.out_trade_no AS merchant_ref, w.notify_url AS app_notify_url
             FROM withdrawal_orders o JOIN withdrawals w ON w.id = o.withdraw_id`,
  },
  settlement: {
    table: "settlement_orders",
    noColumn: "o.settlement_no",
    refColumn: "o.merchant_settlement_id",
    select: `SELECT o.*, o.settlement_no AS no, 1 AS line, o.merchant_settlement_id AS merchant_ref FROM settlement_orders o`,
  },
};

/** Maps a row of a payout table (with its kind's joined columns) to the record. */
export function toPayoutOrder(kind: PayoutOrderKind, r: Record<string, any>): PayoutOrderRecord {
  return {
    kind,
    id: r.id,
    no: BigInt(r.no),
    lineNo: Number(r.line ?? 1),
    merchantId: BigInt(r.merchant_id),
    merchantRef: r.merchant_ref ?? null,
    chainId: Number(r.chain_id),
    tokenAddress: r.token_address,
    amount: BigInt(r.amount),
    toAddress: r.to_address,
    status: Number(r.status) as PayoutStatus,
    payoutId: BigInt(r.payout_id),
    payoutDeadline: new Date(r.payout_deadline),
    payoutSignature: r.payout_signature ?? null,
    approvedBy: r.approved_by ?? null,
    batchId: r.batch_id ?? null,
    txHash: r.tx_hash ?? null,
    reason: r.reason ?? null,
    skipReason: r.skip_reason ?? null,
    notifyUrl: (kind === "withdrawal" ? r.app_notify_url : r.notify_url) ?? null,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    payOrderId: r.pay_order_id ?? null,
    merchantOrderId: r.merchant_order_id ?? null,
    tokenDecimals: r.token_decimals == null ? null : Number(r.token_decimals),
    userId: r.user_id == null ? null : BigInt(r.user_id),
  };
}

/**
 * The state of an application from its lines' states: the least advanced line while any is open (pending
 * approval, then approved, then broadcast); once all are closed, success if all succeeded, rejected if all
 * were rejected, else failed (each line's own outcome is in the lines). One line: its own state.
 */
export function applicationStatus(lines: readonly PayoutStatus[]): PayoutStatus {
  const open = lines.filter((s) => s >= 0 && s <= 2);
  if (open.length > 0) return Math.min(...open) as PayoutStatus;
  if (lines.every((s) => s === PayoutStatus.Success)) return PayoutStatus.Success;
  if (lines.every((s) => s === PayoutStatus.Rejected)) return PayoutStatus.Rejected;
  return PayoutStatus.Failed;
}

const toApplication = (lines: PayoutOrderRecord[]): PayoutApplication => {
  const first = lines[0]!;
  return {
    kind: first.kind,
    no: first.no,
    merchantId: first.merchantId,
    merchantRef: first.merchantRef,
    chainId: first.chainId,
    tokenAddress: first.tokenAddress,
    notifyUrl: first.notifyUrl,
    createdAt: first.createdAt,
    status: applicationStatus(lines.map((l) => l.status)),
    lines,
  };
};

/** The outbox payload of a payout event (the notifier reads `from` and `status`; callbacks carry the current object). */
export function payoutWebhookPayload(o: PayoutOrderRecord): Record<string, string | number | null> {
  return {
    no: o.no.toString(),
    lineNo: o.lineNo,
    state: o.status,
    amount: o.amount.toString(),
    toAddress: o.toAddress,
    payoutId: o.payoutId.toString(),
    txHash: o.txHash,
  };
}

/** The EIP-712 Payout message of an order, as the vault verifies it. */
export function payoutMessage(o: PayoutOrderRecord): Payout {
  return {
    merchantId: o.merchantId,
    kind: PAYOUT_KIND_CODE[o.kind],
    token: getAddress(o.tokenAddress),
    to: getAddress(o.toAddress),
    amount: o.amount,
    payoutId: o.payoutId,
    deadline: BigInt(Math.floor(o.payoutDeadline.getTime() / 1000)),
  };
}

// The payout machine is the same for every kind; `kind` only names the outbox event (`settlement.status_changed`).
// domain/orderStateMachine.ts still types it as "refund" | "withdrawal", hence the casts.
const transition = (kind: PayoutOrderKind, o: PayoutOrderState, e: PayoutEvent): Transition<PayoutOrderState> =>
  transitionPayout(kind as "refund", o, e);
/** A new payout order of `kind`, pending approval: its state and its first outbox event. */
export const openPayoutOrder = (kind: PayoutOrderKind, amount: bigint): Transition<PayoutOrderState> =>
  openPayout(kind as "refund", amount);

const inTx = <T>(db: Db | Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> => ("transaction" in db ? db.transaction(fn) : fn(db));

/**
 * Takes the merchant's next vault payout id (one counter for refunds, withdrawals and settlements); the
 * UPDATE holds the merchant row lock until the caller's transaction ends, so ids are gap-free and distinct.
 */
export async function nextPayoutId(tx: Queryable, merchantId: bigint): Promise<bigint> {
  const [m] = await tx.query<{ id: string }>(
    "UPDATE merchants SET next_payout_id = next_payout_id + 1 WHERE id = $1 RETURNING next_payout_id - 1 AS id",
    [merchantId],
  );
  return BigInt(m!.id);
}

/** Writes an application's outbox event (aggregate = its public id); call in the transaction that changed it. */
export async function writePayoutEvent(tx: Queryable, o: PayoutOrderRecord, outbox: OutboxEvent): Promise<void> {
  await insertOutboxEvent(tx, {
    id: newId(),
    merchantId: o.merchantId,
    aggregateKind: o.kind,
    aggregateId: o.no.toString(),
    type: outbox.type,
    payload: { ...payoutWebhookPayload(o), ...outbox.payload },
  });
}

const lineOrder = (kind: PayoutOrderKind) => (kind === "withdrawal" ? "o.line_no" : "o.id");

/** A merchant's payout application; throws {NotFoundError} (also for another merchant's). */
export async function getPayoutApplication(
  db: Queryable,
  kind: PayoutOrderKind,
  merchantId: bigint,
  ref: PayoutRef,
): Promise<PayoutApplication> {
  const k = KINDS[kind];
  const where = ["o.merchant_id = $1"];
  const params: unknown[] = [merchantId];
  if (ref.no !== undefined) where.push(`${k.noColumn} = $${params.push(ref.no)}`);
  if (ref.merchantRef !== undefined) where.push(`${k.refColumn} = $${params.push(ref.merchantRef)}`);
  if (ref.paymentOutTradeNo !== undefined && kind === "refund") where.push(`p.merchant_order_id = $${params.push(ref.paymentOutTradeNo)}`);
  // several matches (refunds of one payment by its outTradeNo): the latest application
  const rows = await db.query(
    `${k.select} WHERE ${k.noColumn} = (SELECT max(x.no) FROM (${k.select} WHERE ${where.join(" AND ")}) x) ORDER BY ${lineOrder(kind)}`,
    params,
  );
  if (rows.length === 0) throw new NotFoundError(kind, String(ref.no ?? ref.merchantRef ?? ref.paymentOutTradeNo ?? ""));
  return toApplication(rows.map((r) => toPayoutOrder(kind, r)));
}

/** An application by kind and public id, any merchant (the notifier's read); null when there is none. */
export async function getPayoutApplicationByNo(db: Queryable, kind: PayoutOrderKind, no: bigint): Promise<PayoutApplication | null> {
  const k = KINDS[kind];
  const rows = await db.query(`${k.select} WHERE ${k.noColumn} = $1 ORDER BY ${lineOrder(kind)}`, [no]);
  return rows.length === 0 ? null : toApplication(rows.map((r) => toPayoutOrder(kind, r)));
}

/** Filters of refund/list, withdraw/list and settlement/list in the store's terms. */
export type PayoutListFilter = {
  chainId?: number;
  /** application states (PayoutStatus) */
  statuses?: readonly number[];
  txHash?: string;
  createdFrom?: Date;
  createdTo?: Date;
};

/** A page of a merchant's applications of one kind, newest first, and how many match. */
export async function listPayoutApplications(
  db: Queryable,
  kind: PayoutOrderKind,
  merchantId: bigint,
  f: PayoutListFilter,
  p: Page,
): Promise<{ count: number; list: PayoutApplication[] }> {
  const k = KINDS[kind];
  // one row per application: its number, chain, creation time and state (the state of its lines, as applicationStatus)
  const apps = `SELECT ${k.noColumn} AS no, min(${kind === "refund" ? "p" : "o"}.chain_id) AS chain_id, min(o.created_at) AS created_at,
      CASE WHEN bool_or(o.status BETWEEN 0 AND 2) THEN min(o.status) FILTER (WHERE o.status BETWEEN 0 AND 2)
           WHEN bool_and(o.status = 3) THEN 3 WHEN bool_and(o.status = -1) THEN -1 ELSE -2 END AS status,
      array_agg(o.tx_hash) AS tx_hashes
    FROM ${k.table} o ${kind === "refund" ? "JOIN payment_orders p ON p.id = o.pay_order_id" : ""}
    WHERE o.merchant_id = $1 GROUP BY ${k.noColumn}`;
  const where: string[] = [];
  const params: unknown[] = [merchantId];
  if (f.chainId !== undefined) where.push(`a.chain_id = $${params.push(f.chainId)}`);
  if (f.statuses) where.push(`a.status = ANY($${params.push(f.statuses)}::smallint[])`);
  if (f.txHash) where.push(`$${params.push(f.txHash.toLowerCase())} = ANY(a.tx_hashes)`);
  if (f.createdFrom) where.push(`a.created_at >= $${params.push(f.createdFrom)}`);
  if (f.createdTo) where.push(`a.created_at <= $${params.push(f.createdTo)}`);
  const w = where.length ? `WHERE ${where.join(" AND ")}` : "";
  const [c] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM (${apps}) a ${w}`, params);
  const page = await db.query<{ no: string }>(
    `SELECT a.no::text AS no FROM (${apps}) a ${w} ORDER BY a.created_at DESC, a.no DESC LIMIT ${p.size} OFFSET ${(p.page - 1) * p.size}`,
    params,
  );
  if (page.length === 0) return { count: Number(c!.n), list: [] };
  const rows = await db.query(`${k.select} WHERE ${k.noColumn} = ANY($1::bigint[]) ORDER BY ${k.noColumn} DESC, o.created_at, o.id`, [
    page.map((r) => r.no),
  ]);
  const byNo = new Map<string, PayoutOrderRecord[]>();
  for (const r of rows) {
    const o = toPayoutOrder(kind, r);
    const list = byNo.get(o.no.toString()) ?? [];
    list.push(o);
    byNo.set(o.no.toString(), list);
  }
  return {
    count: Number(c!.n),
    list: page.map((r) => toApplication(byNo.get(r.no)!.sort((a, b) => a.lineNo - b.lineNo))),
  };
}

/** The merchant's payout signing setup, as an approval needs it. */
export type MerchantPayoutSetup = {
  payoutSigner: string | null;
  payoutKeyMode: PayoutApprover;
  /** the gateway-held payout key, sealed under the master key (gateway mode only) */
  payoutKeySealed: Buffer | null;
};

/**
 * What an approval adds to a payout: the EIP-712 signature and who made it; or, for a line of a batch, the
 * batch whose one signature covers it (the signature then lives in payout_batches, payout_signature stays NULL).
 */
export type PayoutAuthorization =
  | { signature: string; approvedBy: PayoutApprover; batchId?: undefined }
  | { signature?: undefined; approvedBy: PayoutApprover; batchId: string };

/**
 * Applies one payout-machine event in the caller's transaction to a payout found without a lock: locks a
 * withdrawal's application row, a refund's payment (the order createRefundOrder locks in), then the payout;
 * asks the state machine; stores the approval's signature; releases a refund's reservation when it stops
 * holding funds; writes the payout and the application's outbox event (a withdrawal's only when the state of
 * the application as a whole changed).
 */
async function applyEvent(
  tx: Queryable,
  found: PayoutOrderRecord,
  event: PayoutEvent,
  auth?: PayoutAuthorization,
  txHashOverride?: string,
): Promise<PayoutOrderRecord> {
  const k = KINDS[found.kind];
  if (found.kind === "withdrawal") await tx.query("SELECT 1 FROM withdrawals WHERE id = $1 FOR UPDATE", [found.no]);
  const payment =
    found.kind === "refund"
      ? (
          await tx.query("SELECT status, amount, seen_amount, paid_amount, refunded_amount FROM payment_orders WHERE id = $1 FOR UPDATE", [
            found.payOrderId,
          ])
        )[0]!
      : null;
  const [locked] = await tx.query(`${k.select} WHERE o.id = $1 FOR UPDATE OF o`, [found.id]);
  const order = toPayoutOrder(found.kind, locked!);
  const { next, outbox } = transition(found.kind, order, event);
  if (payment && payoutHoldsFunds(order.status) && !payoutHoldsFunds(next.status)) {
    const released = transitionPayment(
      {
        status: Number(payment.status) as never,
        amount: BigInt(payment.amount),
        seenAmount: BigInt(payment.seen_amount),
        paidAmount: BigInt(payment.paid_amount),
        refundedAmount: BigInt(payment.refunded_amount),
      },
      { type: "refundReleased", amount: order.amount },
    );
    await tx.query("UPDATE payment_orders SET refunded_amount = $2, updated_at = now() WHERE id = $1", [
      order.payOrderId,
      released.next.refundedAmount,
    ]);
  }
  const reason = event.type === "reject" || event.type === "fail" ? event.reason : order.reason;
  const txHash = txHashOverride ?? next.txHash;
  const [row] = await tx.query(
    `UPDATE ${k.table} SET status = $2, tx_hash = $3, reason = $4, payout_signature = COALESCE($5, payout_signature),
       approved_by = COALESCE($6, approved_by), batch_id = COALESCE($7, batch_id), updated_at = now()
     WHERE id = $1 RETURNING status, tx_hash, reason, payout_signature, approved_by, batch_id, updated_at`,
    [order.id, next.status, txHash, reason, auth?.signature ?? null, auth?.approvedBy ?? null, auth?.batchId ?? null],
  );
  const updated: PayoutOrderRecord = {
    ...order,
    status: Number(row!.status) as PayoutStatus,
    txHash: row!.tx_hash,
    reason: row!.reason,
    payoutSignature: row!.payout_signature,
    approvedBy: row!.approved_by ?? null,
    batchId: row!.batch_id ?? null,
    updatedAt: new Date(row!.updated_at),
  };
  if (!outbox) return updated;
  if (found.kind !== "withdrawal") {
    await writePayoutEvent(tx, updated, { ...outbox, payload: { ...outbox.payload, txHash } });
    return updated;
  }
  const lines = await tx.query<{ line_no: number; status: number }>(
    "SELECT line_no, status FROM withdrawal_orders WHERE withdraw_id = $1",
    [found.no],
  );
  const after = applicationStatus(lines.map((l) => Number(l.status) as PayoutStatus));
  const before = applicationStatus(
    lines.map((l) => (Number(l.line_no) === order.lineNo ? order.status : (Number(l.status) as PayoutStatus))),
  );
  if (after !== before) {
    await writePayoutEvent(tx, updated, {
      ...outbox,
      payload: { ...outbox.payload, from: before, status: after, txHash, lineStatus: updated.status },
    });
  }
  return updated;
}

/**
 * Approves a pending application (each line 0 → 1) in one transaction. `authorize` sees the application and
 * the merchant's signing setup and returns one authorization per line, in line order (today one EIP-712
 * signature per payout; a batch signature covering every line would be returned from there too), or throws to
 * refuse (no row changes). The signed fields of a payout never change after creation, so authorizing before
 * the lines are locked is safe; the state machine checks each line's state under its lock.
 */
export function approvePayoutApplication(
  db: Db | Queryable,
  args: {
    kind: PayoutOrderKind;
    merchantId: bigint;
    ref: PayoutRef;
    authorize: (app: PayoutApplication, merchant: MerchantPayoutSetup) => Promise<PayoutAuthorization[]>;
  },
): Promise<PayoutApplication> {
  return inTx(db, async (tx) => {
    const app = await getPayoutApplication(tx, args.kind, args.merchantId, args.ref);
    const [m] = await tx.query("SELECT payout_signer, payout_key_mode, payout_key_enc FROM merchants WHERE id = $1", [app.merchantId]);
    const auths = await args.authorize(app, {
      payoutSigner: m!.payout_signer,
      payoutKeyMode: m!.payout_key_mode,
      payoutKeySealed: m!.payout_key_enc ? Buffer.from(m!.payout_key_enc) : null,
    });
    const lines: PayoutOrderRecord[] = [];
    for (const [i, line] of app.lines.entries()) lines.push(await applyEvent(tx, line, { type: "approve" }, auths[i]));
    return toApplication(lines);
  });
}

/** Rejects a pending application (each line 0 → -1) by the merchant; a refund's amount becomes refundable again. */
export function rejectPayoutApplication(
  db: Db | Queryable,
  args: { kind: PayoutOrderKind; merchantId: bigint; ref: PayoutRef; reason: string },
): Promise<PayoutApplication> {
  return inTx(db, async (tx) => {
    const app = await getPayoutApplication(tx, args.kind, args.merchantId, args.ref);
    const lines: PayoutOrderRecord[] = [];
    for (const line of app.lines) lines.push(await applyEvent(tx, line, { type: "reject", reason: args.reason }));
    return toApplication(lines);
  });
}

/** …/notify: queues the application's latest event again, forced, under its id; returns the event id. */
export function requeuePayoutNotification(db: Db | Queryable, kind: PayoutOrderKind, merchantId: bigint, ref: PayoutRef): Promise<string> {
  return inTx(db, async (tx) => {
    const app = await getPayoutApplication(tx, kind, merchantId, ref);
    const id = await requeueLatestEvent(tx, kind, app.no.toString());
    if (!id) throw new NotFoundError(kind, app.no.toString());
    return id;
  });
}

// ------------------------------------------------------------------ batch approvals (one signature, many payouts)

/** At most this many payouts under one batch signature (the vault pays them in one loop; a wallet lists each). */
export const MAX_BATCH_LINES = 100;

/** One application of a batch approval: its kind and public id. */
export type PayoutBatchRef = { kind: PayoutOrderKind; no: bigint };

/**
 * The EIP-712 PayoutBatch the payout signer signs for these lines, as the vault verifies it: every line in
 * payout id order (so the gateway rebuilds the same batch from its rows), the deadline the earliest of the
 * lines' own deadlines (a batch never authorises a payout for longer than the payout was created for).
 */
export function payoutBatchMessage(merchantId: bigint, lines: readonly PayoutOrderRecord[]): PayoutBatch {
  const sorted = [...lines].sort((a, b) => (a.payoutId < b.payoutId ? -1 : a.payoutId > b.payoutId ? 1 : 0));
  const deadline = Math.min(...sorted.map((l) => Math.floor(l.payoutDeadline.getTime() / 1000)));
  return {
    merchantId,
    deadline: BigInt(deadline),
    payouts: sorted.map((l) => ({
      kind: PAYOUT_KIND_CODE[l.kind],
      token: getAddress(l.tokenAddress),
      to: getAddress(l.toAddress),
      amount: l.amount,
      payoutId: l.payoutId,
    })),
  };
}

/** The merchant's applications named by `refs`, in the order given; throws {NotFoundError} for any it does not own. */
export async function getPayoutApplications(
  db: Queryable,
  merchantId: bigint,
  refs: readonly PayoutBatchRef[],
): Promise<PayoutApplication[]> {
  const apps: PayoutApplication[] = [];
  for (const r of refs) apps.push(await getPayoutApplication(db, r.kind, merchantId, { no: r.no }));
  return apps;
}

/**
 * Approves several pending applications of one merchant with one batch signature, in one transaction:
 * `authorize` sees the applications, every line, the PayoutBatch built from them and the merchant's signing
 * setup, and returns the batch's signature (or throws to refuse: nothing is written). Then the batch row is
 * written and each line moves 0 → 1 pointing at it, with the usual outbox events; a line no longer pending
 * (a concurrent approval or rejection) makes the state machine throw and the whole approval roll back.
 */
export function approvePayoutBatch(
  db: Db | Queryable,
  args: {
    merchantId: bigint;
    refs: readonly PayoutBatchRef[];
    authorize: (
      apps: PayoutApplication[],
      batch: PayoutBatch,
      merchant: MerchantPayoutSetup,
    ) => Promise<{ signature: string; approvedBy: PayoutApprover }>;
  },
): Promise<{ batchId: string; batch: PayoutBatch; applications: PayoutApplication[] }> {
  return inTx(db, async (tx) => {
    const apps = await getPayoutApplications(tx, args.merchantId, args.refs);
    const lines = apps.flatMap((a) => a.lines);
    const batch = payoutBatchMessage(args.merchantId, lines);
    const [m] = await tx.query("SELECT payout_signer, payout_key_mode, payout_key_enc FROM merchants WHERE id = $1", [args.merchantId]);
    const auth = await args.authorize(apps, batch, {
      payoutSigner: m!.payout_signer,
      payoutKeyMode: m!.payout_key_mode,
      payoutKeySealed: m!.payout_key_enc ? Buffer.from(m!.payout_key_enc) : null,
    });
    const batchId = newId();
    await tx.query(
      "INSERT INTO payout_batches (id, merchant_id, chain_id, deadline, signature, approved_by, lines) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      [batchId, args.merchantId, apps[0]!.chainId, batch.deadline, auth.signature.toLowerCase(), auth.approvedBy, lines.length],
    );
    const applications: PayoutApplication[] = [];
    for (const app of apps) {
      const done: PayoutOrderRecord[] = [];
      for (const line of app.lines) done.push(await applyEvent(tx, line, { type: "approve" }, { batchId, approvedBy: auth.approvedBy }));
      applications.push(toApplication(done));
    }
    return { batchId, batch, applications };
  });
}

// ------------------------------------------------------------------ for the payout executor and the chain follower

/** An approved, signed payout ready to be sent to the vault (`executePayout(payout, signature)`). */
export type ExecutablePayout = {
  kind: PayoutOrderKind;
  /** the order id (refundOrderId / withdrawOrderId / settlementOrderId) */
  id: string;
  merchantId: bigint;
  payoutId: bigint;
  chainId: number;
  /** checksummed; 0x000…0 for the native coin */
  token: Address;
  to: Address;
  amount: bigint;
  /** unix seconds; the vault refuses the payout after it */
  deadline: bigint;
  signature: Hex;
  /** the EIP-712 Payout struct exactly as signed (kind as the vault's PayoutKind number) */
  payout: Payout;
};

const EXECUTABLE_COLUMNS = "o.id, o.merchant_id, o.payout_id, o.to_address, o.amount, o.payout_deadline, o.payout_signature";

/**
 * Approved (state 1), signed payouts of one chain not yet broadcast, oldest payout id first per merchant (any
 * order is valid in the vault; in id order most payouts touch only the merchant's slot). Includes payouts whose
 * deadline has passed: the executor should mark those failed. A plain read: executors sharing a chain must
 * agree on one leader (or lock) themselves; markPayoutBroadcast refuses a second broadcast of the same order.
 */
export async function listExecutablePayouts(db: Queryable, args: { chainId: number; limit: number }): Promise<ExecutablePayout[]> {
  const rows = await db.query(
    `SELECT * FROM (
       SELECT 'refund' AS kind, ${EXECUTABLE_COLUMNS}, p.chain_id, p.token_address
         FROM refund_orders o JOIN payment_orders p ON p.id = o.pay_order_id
        WHERE o.status = 1 AND o.payout_signature IS NOT NULL AND p.chain_id = $1
       UNION ALL
       SELECT 'withdrawal', ${EXECUTABLE_COLUMNS}, o.chain_id, o.token_address
         FROM withdrawal_orders o WHERE o.status = 1 AND o.payout_signature IS NOT NULL AND o.chain_id = $1
       UNION ALL
       SELECT 'settlement', ${EXECUTABLE_COLUMNS}, o.chain_id, o.token_address
         FROM settlement_orders o WHERE o.status = 1 AND o.payout_signature IS NOT NULL AND o.chain_id = $1
     ) x ORDER BY merchant_id, payout_id LIMIT $2`,
    [args.chainId, args.limit],
  );
  return rows.map((r) => {
    const kind = r.kind as PayoutOrderKind;
    const payout: Payout = {
      merchantId: BigInt(r.merchant_id),
      kind: PAYOUT_KIND_CODE[kind],
      token: getAddress(r.token_address),
      to: getAddress(r.to_address),
      amount: BigInt(r.amount),
      payoutId: BigInt(r.payout_id),
      deadline: BigInt(Math.floor(new Date(r.payout_deadline).getTime() / 1000)),
    };
    return {
      kind,
      id: r.id,
      merchantId: payout.merchantId,
      payoutId: payout.payoutId,
      chainId: Number(r.chain_id),
      token: payout.token,
      to: payout.to,
      amount: payout.amount,
      deadline: payout.deadline,
      signature: r.payout_signature as Hex,
      payout,
    };
  });
}

/** The refund, withdrawal or settlement with that vault payout id (unique per merchant across the three tables:
 * one counter, unique indexes in migration 002), or null: what the follower's vault events name. */
async function findByPayoutId(tx: Queryable, merchantId: bigint, payoutId: bigint): Promise<PayoutOrderRecord | null> {
  const [hit] = await tx.query<{ kind: PayoutOrderKind; id: string }>(
    `SELECT 'refund' AS kind, id FROM refund_orders WHERE merchant_id = $1 AND payout_id = $2
     UNION ALL SELECT 'withdrawal', id FROM withdrawal_orders WHERE merchant_id = $1 AND payout_id = $2
     UNION ALL SELECT 'settlement', id FROM settlement_orders WHERE merchant_id = $1 AND payout_id = $2
     LIMIT 1`,
    [merchantId, payoutId],
  );
  return hit ? findById(tx, hit.kind, hit.id) : null;
}

async function findById(tx: Queryable, kind: PayoutOrderKind, id: string): Promise<PayoutOrderRecord> {
  const [row] = await tx.query(`${KINDS[kind].select} WHERE o.id = $1`, [id]);
  if (!row) throw new NotFoundError(kind, id);
  return toPayoutOrder(kind, row);
}

/** The executor sent the payout transaction: 1 → 2 with its hash (throws IllegalTransitionError if not approved). */
export function markPayoutBroadcast(db: Db | Queryable, kind: PayoutOrderKind, id: string, txHash: string): Promise<PayoutOrderRecord> {
  return inTx(db, async (tx) => applyEvent(tx, await findById(tx, kind, id), { type: "broadcast", txHash: txHash.toLowerCase() }));
}

/** The payout transaction left the mempool or the chain (reorg): 2 → 1, tx hash cleared, to be sent again. */
export function markPayoutDropped(db: Db | Queryable, kind: PayoutOrderKind, id: string): Promise<PayoutOrderRecord> {
  return inTx(db, async (tx) => applyEvent(tx, await findById(tx, kind, id), { type: "dropped" }));
}

/**
 * The payout cannot be executed (reverted for good, deadline passed, …): 1 or 2 → -2 with the reason; a
 * refund's amount becomes refundable again.
 */
export function markPayoutFailed(db: Db | Queryable, kind: PayoutOrderKind, id: string, reason: string): Promise<PayoutOrderRecord> {
  return inTx(db, async (tx) => applyEvent(tx, await findById(tx, kind, id), { type: "fail", reason }));
}

/** What settlePayoutFromChain did. */
export type SettlePayoutResult =
  /** the order moved to success (3); its webhook is in the outbox */
  | { outcome: "settled"; order: PayoutOrderRecord }
  /** it was already successful (the same event delivered twice): nothing written */
  | { outcome: "already"; order: PayoutOrderRecord }
  /** no order of this merchant carries that payout id (paid out by other means): nothing written */
  | { outcome: "unknown" }
  /** the order is pending, rejected or failed, yet the vault paid it: nothing written, the caller should alert */
  | { outcome: "unexpected"; order: PayoutOrderRecord };

/**
 * Called inside the chain follower's transaction when a vault `PayoutExecuted(merchantId, payoutId, …)`
 * reaches the confirmation depth: moves the order with that payout id to success (3) with the transaction's
 * hash and writes its webhook. An approved order (1) whose broadcast was never recorded (say the executor
 * crashed after sending) moves 1 → 2 → 3 with both events. Never throws for an unexpected state, so one
 * odd order cannot stop the follower.
 */
export async function settlePayoutFromChain(
  tx: Queryable,
  args: { merchantId: bigint; payoutId: bigint; txHash: string },
): Promise<SettlePayoutResult> {
  const txHash = args.txHash.toLowerCase();
  let order = await findByPayoutId(tx, args.merchantId, args.payoutId);
  if (!order) return { outcome: "unknown" };
  if (order.status === 3) return { outcome: "already", order };
  if (order.status === 1) order = await applyEvent(tx, order, { type: "broadcast", txHash });
  if (order.status !== 2) return { outcome: "unexpected", order };
  // the chain's hash wins over the one we sent (a replacement transaction may have been mined)
  return { outcome: "settled", order: await applyEvent(tx, order, { type: "confirm" }, undefined, txHash) };
}

// ------------------------------------------------------------------ batches, for the executor and the follower

/** An approved batch with at least one line still to send (state 1). */
export type ExecutableBatch = {
  id: string;
  merchantId: bigint;
  chainId: number;
  /** unix seconds: the signed PayoutBatch.deadline */
  deadline: bigint;
  signature: Hex;
  /** every line of the batch (whatever its state), in payout id order: the signed items */
  lines: PayoutOrderRecord[];
  /** the PayoutBatch exactly as signed */
  batch: PayoutBatch;
};

/** Every line of a batch, in payout id order. */
export async function getBatchLines(db: Queryable, batchId: string): Promise<PayoutOrderRecord[]> {
  const lines: PayoutOrderRecord[] = [];
  for (const kind of Object.keys(KINDS) as PayoutOrderKind[]) {
    for (const r of await db.query(`${KINDS[kind].select} WHERE o.batch_id = $1`, [batchId])) lines.push(toPayoutOrder(kind, r));
  }
  return lines.sort((a, b) => (a.payoutId < b.payoutId ? -1 : a.payoutId > b.payoutId ? 1 : 0));
}

/** Approved batches of one chain with a line in state 1, oldest first. */
export async function listExecutableBatches(db: Queryable, args: { chainId: number; limit: number }): Promise<ExecutableBatch[]> {
  const rows = await db.query(
    `SELECT b.* FROM payout_batches b
      WHERE b.chain_id = $1
        -- after a skip, not before its retry time (a batch past its deadline is listed, to be failed)
        AND (b.retry_after IS NULL OR b.retry_after <= now() OR b.deadline < extract(epoch FROM now()))
        AND (
        EXISTS (SELECT 1 FROM refund_orders o WHERE o.batch_id = b.id AND o.status = 1)
        OR EXISTS (SELECT 1 FROM withdrawal_orders o WHERE o.batch_id = b.id AND o.status = 1)
        OR EXISTS (SELECT 1 FROM settlement_orders o WHERE o.batch_id = b.id AND o.status = 1))
      ORDER BY b.created_at, b.id LIMIT $2`,
    [args.chainId, args.limit],
  );
  const out: ExecutableBatch[] = [];
  for (const r of rows) {
    const lines = await getBatchLines(db, r.id);
    const batch = payoutBatchMessage(BigInt(r.merchant_id), lines);
    // the stored deadline is the signed one (lines' deadlines never change, so they agree)
    batch.deadline = BigInt(r.deadline);
    out.push({
      id: r.id,
      merchantId: BigInt(r.merchant_id),
      chainId: Number(r.chain_id),
      deadline: batch.deadline,
      signature: r.signature as Hex,
      lines,
      batch,
    });
  }
  return out;
}

/** Applies `event` to each line of the batch in one of `from` states, in one transaction; returns the lines changed. */
function eachBatchLine(
  db: Db | Queryable,
  batchId: string,
  from: readonly PayoutStatus[],
  event: PayoutEvent,
): Promise<PayoutOrderRecord[]> {
  return inTx(db, async (tx) => {
    const changed: PayoutOrderRecord[] = [];
    for (const line of await getBatchLines(tx, batchId)) {
      if (from.includes(line.status)) changed.push(await applyEvent(tx, line, event));
    }
    return changed;
  });
}

/** The executor sent the batch's transaction: each line still approved (1) → 2 with its hash. */
export const markBatchBroadcast = (db: Db | Queryable, batchId: string, txHash: string) =>
  eachBatchLine(db, batchId, [PayoutStatus.Approved], { type: "broadcast", txHash: txHash.toLowerCase() });

/** The batch's transaction was dropped or reverted: each line sent (2) → 1, to be sent again. */
export const markBatchDropped = (db: Db | Queryable, batchId: string) =>
  eachBatchLine(db, batchId, [PayoutStatus.Broadcast], { type: "dropped" });

/**
 * The batch can never be paid (its deadline passed, …): each open line → -2 with `reason`, and the vault's
 * last skip reason of a line it skipped, so the failure says why it was never paid.
 */
export const markBatchFailed = (db: Db | Queryable, batchId: string, reason: string) =>
  inTx(db, async (tx) => {
    const changed: PayoutOrderRecord[] = [];
    for (const line of await getBatchLines(tx, batchId)) {
      if (line.status !== PayoutStatus.Approved && line.status !== PayoutStatus.Broadcast) continue;
      const why = line.skipReason ? `${reason}; last skipped by the vault: ${line.skipReason}` : reason;
      changed.push(await applyEvent(tx, line, { type: "fail", reason: why }));
    }
    return changed;
  });

// ------------------------------------------------------------------ relays: many payouts and batches in one transaction

/** A piece of payout work the executor sends: a single payout (by its order kind) or a batch. */
export type PayoutWorkRef = { kind: PayoutOrderKind | "batch"; id: string };

/**
 * Records what relay `relayId` carries, before its transaction is signed (operator_txs names the relay): a
 * restart then knows those payouts have a transaction in flight, and a drop puts each back.
 */
export async function recordPayoutRelay(db: Queryable, relayId: string, refs: readonly PayoutWorkRef[]): Promise<void> {
  await db.query(
    "INSERT INTO payout_relay_refs (relay_id, ref_kind, ref_id) SELECT $1, k, i FROM unnest($2::text[], $3::text[]) AS t(k, i)",
    [relayId, refs.map((r) => r.kind), refs.map((r) => r.id)],
  );
}

/** Whether a transaction of the operator is still pending for this payout or batch, sent alone or in a relay. */
export async function hasPendingPayoutTx(db: Queryable, refId: string): Promise<boolean> {
  const rows = await db.query(
    `SELECT 1 FROM operator_txs o
      WHERE o.status = 'pending' AND o.purpose = 'payout'
        AND (o.ref_id = $1 OR (o.ref_kind = 'relay' AND o.ref_id IN (SELECT relay_id FROM payout_relay_refs WHERE ref_id = $1)))
      LIMIT 1`,
    [refId],
  );
  return rows.length > 0;
}

/**
 * The operator's payout transaction `refKind`/`refId` was dropped or reverted: what it carried goes back from
 * sent to approved, to be sent again (or failed at its deadline): a single payout, each sent line of a batch,
 * or each payout and batch of a relay. Returns the lines changed; one that is no longer sent is left as it is.
 */
export async function markPayoutWorkDropped(db: Db | Queryable, refKind: string | null, refId: string): Promise<PayoutOrderRecord[]> {
  if (refKind === "relay") {
    const refs = await db.query<{ ref_kind: string; ref_id: string }>(
      "SELECT ref_kind, ref_id FROM payout_relay_refs WHERE relay_id = $1 ORDER BY ref_kind, ref_id",
      [refId],
    );
    const changed: PayoutOrderRecord[] = [];
    for (const r of refs) changed.push(...(await markPayoutWorkDropped(db, r.ref_kind, r.ref_id)));
    return changed;
  }
  if (refKind === "batch") return markBatchDropped(db, refId);
  if (refKind !== "refund" && refKind !== "withdrawal" && refKind !== "settlement") throw new Error(`unknown payout work kind ${refKind}`);
  return inTx(db, async (tx) => {
    const order = await findById(tx, refKind, refId);
    return order.status === PayoutStatus.Broadcast ? [await applyEvent(tx, order, { type: "dropped" })] : [];
  });
}

/**
 * Called in the chain follower's transaction for a confirmed vault `PayoutSkipped` whose reason may pass
 * later (a short balance, a refusing recipient, a signature the signer's current key does not match): the id
 * stays unused and the signature (public once sent) still authorises the payout until its deadline, so anyone
 * may relay it again and pay it. The order is therefore NOT failed and keeps its amount reserved: a sent one
 * goes back to approved (2 → 1, with its webhook) and the reason is kept in skip_reason; its batch is sent
 * again no earlier than `retryAfterSeconds` from now. It fails at its deadline (executor), or from
 * PayoutCancelled, or succeeds from PayoutExecuted. Returns null when no open order has that id.
 */
export async function skipPayoutFromChain(
  tx: Queryable,
  args: { merchantId: bigint; payoutId: bigint; reason: string; retryAfterSeconds: number; txHash: string },
): Promise<PayoutOrderRecord | null> {
  let order = await findByPayoutId(tx, args.merchantId, args.payoutId);
  if (!order || (order.status !== PayoutStatus.Approved && order.status !== PayoutStatus.Broadcast)) return null;
  // Only the gateway's own transaction (or one of its fee-bumped replacements) speaks for the order: anyone can
  // relay a payout with a bad signature and this id, which the vault reports as skipped too.
  const txHash = args.txHash.toLowerCase();
  if (order.txHash?.toLowerCase() !== txHash) {
    const ours = await tx.query(
      `SELECT 1 FROM operator_txs o WHERE o.tx_hash = $1
         AND (o.ref_id = ANY($2::text[])
           OR (o.ref_kind = 'relay' AND EXISTS (SELECT 1 FROM payout_relay_refs r WHERE r.relay_id = o.ref_id AND r.ref_id = ANY($2::text[]))))`,
      [txHash, [order.id, order.batchId].filter(Boolean)],
    );
    if (ours.length === 0) return null;
  }
  if (order.status === PayoutStatus.Broadcast) order = await applyEvent(tx, order, { type: "dropped" });
  await tx.query(`UPDATE ${KINDS[order.kind].table} SET skip_reason = $2, updated_at = now() WHERE id = $1`, [order.id, args.reason]);
  if (order.batchId) {
    await tx.query("UPDATE payout_batches SET retry_after = now() + make_interval(secs => $2) WHERE id = $1", [
      order.batchId,
      args.retryAfterSeconds,
    ]);
  }
  return { ...order, skipReason: args.reason };
}

/**
 * Called in the chain follower's transaction for a confirmed vault `PayoutCancelled`, or a `PayoutSkipped`
 * whose reason can never pass as signed (hooks.ts; any other skip keeps the order open: skipPayoutFromChain):
 * the open order with that payout id (approved or sent) fails with `reason` and its webhook, and a refund's
 * amount is released. Returns null when no open order has that id (paid already, or not the gateway's);
 * never throws for an odd state.
 */
export async function failPayoutFromChain(
  tx: Queryable,
  args: { merchantId: bigint; payoutId: bigint; reason: string },
): Promise<PayoutOrderRecord | null> {
  const order = await findByPayoutId(tx, args.merchantId, args.payoutId);
  if (!order || (order.status !== PayoutStatus.Approved && order.status !== PayoutStatus.Broadcast)) return null;
  // The vault kept the id unused and the batch signature (public in the transaction) authorises it until the
  // deadline: the reason says so, so that nobody pays it again by other means without cancelling the id first.
  const [b] = order.batchId
    ? await tx.query<{ deadline: string }>("SELECT deadline FROM payout_batches WHERE id = $1", [order.batchId])
    : [];
  const reason = b
    ? `${args.reason}; its batch signature authorises payout id ${order.payoutId} until ${new Date(Number(b.deadline) * 1000).toISOString()}: cancel that id in the vault (cancelPayout) before paying it again by other means`
    : args.reason;
  return applyEvent(tx, order, { type: "fail", reason });
}
