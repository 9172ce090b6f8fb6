import { getAddress, type Address, type Hex } from "viem";
import { newId } from "../domain/ids.js";
import {
  openPayout,
  payoutHoldsFunds,
  transitionPayment,
  transitionPayout,
  type OutboxEvent,
  type PayoutEvent,
  type PayoutOrderState,
  type PayoutStatus,
  type Transition,
} from "../domain/orderStateMachine.js";
import { PayoutKind, type Payout } from "../domain/payoutTypedData.js";
import type { Db, Queryable } from "./db.js";
import { NotFoundError } from "./errors.js";
import { insertOutboxEvent, requeueLatestEvent } from "./outbox.js";

/**
 * The one store module for payouts from the vault: refunds, user withdrawals and merchant settlements.
 * They share one state machine (domain/orderStateMachine.ts `transitionPayout`), one per-merchant payout id
 * counter and the same approve / reject / execute / settle steps; each kind keeps its own table (its own
 * create function lives in refundOrders.ts, withdrawalOrders.ts, settlementOrders.ts). Refunds alone hold
 * an amount reserved on their payment order, released here when a refund is rejected or fails.
 *
 * Every state change writes its outbox event (webhook) in the same transaction.
 */

export type PayoutOrderKind = "refund" | "withdrawal" | "settlement";
export type PayoutApprover = "merchant" | "gateway";

/** The vault's PayoutKind of each order kind (the `kind` field of the signed EIP-712 Payout). */
export const PAYOUT_KIND_CODE: Record<PayoutOrderKind, PayoutKind> = {
  refund: PayoutKind.Refund,
  withdrawal: PayoutKind.Withdrawal,
  settlement: PayoutKind.Settlement,
};

export type PayoutOrderRecord = {
  kind: PayoutOrderKind;
  id: string;
  merchantId: bigint;
  /** the merchant's idempotency id: merchantRefundId, merchantWithdrawId or merchantSettlementId */
  merchantRef: string;
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
  txHash: string | null;
  reason: string | null;
  notifyUrl: string | null;
  createdAt: Date;
  /** refunds: the payment refunded, its merchantOrderId and token decimals */
  payOrderId: string | null;
  merchantOrderId: string | null;
  tokenDecimals: number | null;
  /** withdrawals: the merchant's user */
  userId: bigint | null;
};

/** Which order: by the gateway's id or by the merchant's idempotency id. */
export type PayoutRef = { id: string } | { merchantRef: string };

type KindTable = { table: string; refColumn: string; select: string };

// Refunds carry no chain or token of their own: they are the payment's.
const KINDS: Record<PayoutOrderKind, KindTable> = {
  refund: {
    table: "refund_orders",
    refColumn: "merchant_refund_id",
    select: `SELECT o.*, p.merchant_order_id, p.chain_id, p.token_address, p.token_decimals
             FROM refund_orders o JOIN payment_orders p ON p.id = o.pay_order_id`,
  },
  withdrawal: { table: "withdrawal_orders", refColumn: "merchant_withdraw_id", select: "SELECT o.* FROM withdrawal_orders o" },
  settlement: { table: "settlement_orders", refColumn: "merchant_settlement_id", select: "SELECT o.* FROM settlement_orders o" },
};

/** Maps a row of a payout table (with the refund join's columns) to the record. */
export function toPayoutOrder(kind: PayoutOrderKind, r: Record<string, any>): PayoutOrderRecord {
  return {
    kind,
    id: r.id,
    merchantId: BigInt(r.merchant_id),
    merchantRef: r[KINDS[kind].refColumn],
    chainId: Number(r.chain_id),
    tokenAddress: r.token_address,
    amount: BigInt(r.amount),
    toAddress: r.to_address,
    status: Number(r.status) as PayoutStatus,
    payoutId: BigInt(r.payout_id),
    payoutDeadline: new Date(r.payout_deadline),
    payoutSignature: r.payout_signature ?? null,
    approvedBy: r.approved_by ?? null,
    txHash: r.tx_hash ?? null,
    reason: r.reason ?? null,
    notifyUrl: r.notify_url ?? null,
    createdAt: new Date(r.created_at),
    payOrderId: r.pay_order_id ?? null,
    merchantOrderId: r.merchant_order_id ?? null,
    tokenDecimals: r.token_decimals == null ? null : Number(r.token_decimals),
    userId: r.user_id == null ? null : BigInt(r.user_id),
  };
}

/** The webhook body of a payout order (each kind keeps the field names its API uses). */
export function payoutWebhookPayload(o: PayoutOrderRecord): Record<string, string | number | null> {
  const common = { state: o.status, amount: o.amount.toString(), toAddress: o.toAddress, payoutId: o.payoutId.toString(), txHash: o.txHash };
  switch (o.kind) {
    case "refund":
      return {
        refundOrderId: o.id,
        merchantRefundId: o.merchantRef,
        payOrderId: o.payOrderId,
        merchantOrderId: o.merchantOrderId,
        ...common,
      };
    case "withdrawal":
      return {
        withdrawOrderId: o.id,
        merchantWithdrawId: o.merchantRef,
        userId: o.userId!.toString(),
        chainId: o.chainId,
        token: o.tokenAddress,
        ...common,
      };
    case "settlement":
      return { settlementOrderId: o.id, merchantSettlementId: o.merchantRef, chainId: o.chainId, token: o.tokenAddress, ...common };
  }
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
export const openPayoutOrder = (kind: PayoutOrderKind, amount: bigint): Transition<PayoutOrderState> => openPayout(kind as "refund", amount);

const inTx = <T>(db: Db | Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> =>
  "transaction" in db ? db.transaction(fn) : fn(db);

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

/** Writes a payout order's outbox event; call in the transaction that changed the order. */
export async function writePayoutEvent(tx: Queryable, o: PayoutOrderRecord, outbox: OutboxEvent): Promise<void> {
  await insertOutboxEvent(tx, {
    id: newId(),
    merchantId: o.merchantId,
    aggregateKind: o.kind,
    aggregateId: o.id,
    type: outbox.type,
    payload: { ...payoutWebhookPayload(o), ...outbox.payload },
  });
}

/** A merchant's payout order by id or idempotency id; throws {NotFoundError} (also for another merchant's). */
export async function getPayoutOrder(
  db: Queryable,
  kind: PayoutOrderKind,
  merchantId: bigint,
  ref: PayoutRef,
  forUpdate = false,
): Promise<PayoutOrderRecord> {
  const k = KINDS[kind];
  const byId = "id" in ref;
  const [row] = await db.query(
    `${k.select} WHERE o.merchant_id = $1 AND ${byId ? "o.id" : `o.${k.refColumn}`} = $2${forUpdate ? " FOR UPDATE OF o" : ""}`,
    [merchantId, byId ? ref.id : ref.merchantRef],
  );
  if (!row) throw new NotFoundError(kind, byId ? ref.id : ref.merchantRef);
  return toPayoutOrder(kind, row);
}

/** The merchant's payout signing setup, as an approval needs it. */
export type MerchantPayoutSetup = {
  payoutSigner: string | null;
  payoutKeyMode: PayoutApprover;
  /** the gateway-held payout key, sealed under the master key (gateway mode only) */
  payoutKeySealed: Buffer | null;
};

/** What an approval adds to the order: the EIP-712 signature and who made it. */
export type PayoutAuthorization = { signature: string; approvedBy: PayoutApprover };

/**
 * Applies one payout-machine event in the caller's transaction to an order found without a lock: locks the
 * refund's payment first (the order createRefundOrder locks in), then the order; asks the state machine;
 * lets `authorize` refuse an approval or supply its signature; releases a refund's reservation when it stops
 * holding funds; writes the order and its outbox event.
 */
async function applyEvent(
  tx: Queryable,
  found: PayoutOrderRecord,
  event: PayoutEvent,
  authorize?: (o: PayoutOrderRecord, merchant: MerchantPayoutSetup) => Promise<PayoutAuthorization | void>,
  txHashOverride?: string,
): Promise<PayoutOrderRecord> {
  const k = KINDS[found.kind];
  const payment =
    found.kind === "refund"
      ? (
          await tx.query("SELECT status, amount, seen_amount, paid_amount, refunded_amount FROM payment_orders WHERE id = $1 FOR UPDATE", [
            found.payOrderId,
          ])
        )[0]!
      : null;
  const order = await getPayoutOrder(tx, found.kind, found.merchantId, { id: found.id }, true);
  const { next, outbox } = transition(found.kind, order, event);
  let auth: PayoutAuthorization | void = undefined;
  if (authorize) {
    const [m] = await tx.query("SELECT * FROM merchants WHERE id = $1", [order.merchantId]);
    auth = await authorize(order, {
      payoutSigner: m!.payout_signer,
      payoutKeyMode: m!.payout_key_mode,
      payoutKeySealed: m!.payout_key_enc ? Buffer.from(m!.payout_key_enc) : null,
    });
  }
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
       approved_by = COALESCE($6, approved_by), updated_at = now()
     WHERE id = $1 RETURNING status, tx_hash, reason, payout_signature, approved_by`,
    [order.id, next.status, txHash, reason, auth?.signature ?? null, auth?.approvedBy ?? null],
  );
  const updated: PayoutOrderRecord = {
    ...order,
    status: Number(row!.status) as PayoutStatus,
    txHash: row!.tx_hash,
    reason: row!.reason,
    payoutSignature: row!.payout_signature,
    approvedBy: row!.approved_by ?? null,
  };
  if (outbox) await writePayoutEvent(tx, updated, { ...outbox, payload: { ...outbox.payload, txHash } });
  return updated;
}

/**
 * Approves a pending payout (0 → 1) in one transaction. `authorize` sees the locked order and the merchant's
 * signing setup and returns the EIP-712 signature and who made it, or throws to refuse (no row changes).
 */
export function approvePayout(
  db: Db | Queryable,
  args: {
    kind: PayoutOrderKind;
    merchantId: bigint;
    ref: PayoutRef;
    authorize: (o: PayoutOrderRecord, merchant: MerchantPayoutSetup) => Promise<PayoutAuthorization>;
  },
): Promise<PayoutOrderRecord> {
  return inTx(db, async (tx) => {
    const found = await getPayoutOrder(tx, args.kind, args.merchantId, args.ref);
    return applyEvent(tx, found, { type: "approve" }, args.authorize);
  });
}

/** Rejects a pending payout (0 → -1) by the merchant; a refund's amount becomes refundable again. */
export function rejectPayout(
  db: Db | Queryable,
  args: { kind: PayoutOrderKind; merchantId: bigint; ref: PayoutRef; reason: string },
): Promise<PayoutOrderRecord> {
  return inTx(db, async (tx) => {
    const found = await getPayoutOrder(tx, args.kind, args.merchantId, args.ref);
    return applyEvent(tx, found, { type: "reject", reason: args.reason });
  });
}

/** …/notify: queues the order's latest webhook again under its id; returns the event id. */
export function requeuePayoutNotification(db: Db | Queryable, kind: PayoutOrderKind, merchantId: bigint, ref: PayoutRef): Promise<string> {
  return inTx(db, async (tx) => {
    const o = await getPayoutOrder(tx, kind, merchantId, ref);
    const id = await requeueLatestEvent(tx, kind, o.id);
    if (!id) throw new NotFoundError(kind, o.id);
    return id;
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
 * Approved (state 1), signed payouts of one chain not yet broadcast, oldest payout id first per merchant (the
 * vault accepts ids only within a sliding window above the lowest unspent one). Includes payouts whose
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
  // payout ids are unique per merchant across the three tables (one counter, unique indexes in migration 002)
  const [hit] = await tx.query<{ kind: PayoutOrderKind; id: string }>(
    `SELECT 'refund' AS kind, id FROM refund_orders WHERE merchant_id = $1 AND payout_id = $2
     UNION ALL SELECT 'withdrawal', id FROM withdrawal_orders WHERE merchant_id = $1 AND payout_id = $2
     UNION ALL SELECT 'settlement', id FROM settlement_orders WHERE merchant_id = $1 AND payout_id = $2
     LIMIT 1`,
    [args.merchantId, args.payoutId],
  );
  if (!hit) return { outcome: "unknown" };
  let order = await findById(tx, hit.kind, hit.id);
  if (order.status === 3) return { outcome: "already", order };
  if (order.status === 1) order = await applyEvent(tx, order, { type: "broadcast", txHash });
  if (order.status !== 2) return { outcome: "unexpected", order };
  // the chain's hash wins over the one we sent (a replacement transaction may have been mined)
  return { outcome: "settled", order: await applyEvent(tx, order, { type: "confirm" }, undefined, txHash) };
}
