import { newId } from "../domain/ids.js";
import {
  openPayout,
  payoutHoldsFunds,
  transitionPayment,
  transitionPayout,
  type PayoutEvent,
  type PayoutStatus,
} from "../domain/orderStateMachine.js";
import type { Db, Queryable } from "./db.js";
import { IdempotencyConflictError, NotFoundError, RefundAddressRequiredError } from "./errors.js";
import { insertOutboxEvent, requeueLatestEvent } from "./outbox.js";
import { getPaymentOrder, type PaymentOrderRecord, type PaymentOrderRef } from "./paymentOrders.js";

export type RefundOrderRecord = {
  id: string;
  merchantId: bigint;
  payOrderId: string;
  merchantRefundId: string;
  amount: bigint;
  toAddress: string;
  status: PayoutStatus;
  payoutId: bigint;
  payoutDeadline: Date;
  payoutSignature: string | null;
  txHash: string | null;
  reason: string | null;
  notifyUrl: string | null;
  createdAt: Date;
};

const toRefund = (r: Record<string, any>): RefundOrderRecord => ({
  id: r.id,
  merchantId: BigInt(r.merchant_id),
  payOrderId: r.pay_order_id,
  merchantRefundId: r.merchant_refund_id,
  amount: BigInt(r.amount),
  toAddress: r.to_address,
  status: Number(r.status) as PayoutStatus,
  payoutId: BigInt(r.payout_id),
  payoutDeadline: new Date(r.payout_deadline),
  payoutSignature: r.payout_signature,
  txHash: r.tx_hash,
  reason: r.reason,
  notifyUrl: r.notify_url,
  createdAt: new Date(r.created_at),
});

/**
 * Creates a refund order for part or all of a closed payment, pending the merchant's approval, in one
 * transaction: locks the payment, reserves the amount through the state machine (never more than paid
 * minus refunds already reserved), takes the merchant's next vault payout id, writes the refund and its
 * outbox event. Idempotent by (merchant, merchantRefundId).
 */
export async function createRefundOrder(
  db: Db,
  p: {
    merchantId: bigint;
    payment: PaymentOrderRef;
    merchantRefundId: string;
    requestHash: string;
    /** base units; the caller converts with the payment's token decimals */
    amount: (decimals: number) => bigint;
    toAddress: string | null;
    reason: string | null;
    notifyUrl: string | null;
    payoutDeadlineSeconds: number;
  },
): Promise<{ refund: RefundOrderRecord; created: boolean }> {
  return db.transaction(async (tx) => {
    const payment = await getPaymentOrder(tx, p.merchantId, p.payment, true);
    const [existing] = await tx.query("SELECT * FROM refund_orders WHERE merchant_id = $1 AND merchant_refund_id = $2", [
      p.merchantId,
      p.merchantRefundId,
    ]);
    if (existing) {
      if (existing.request_hash !== p.requestHash) throw new IdempotencyConflictError("merchantRefundId", p.merchantRefundId);
      return { refund: toRefund(existing), created: false };
    }
    const amount = p.amount(payment.tokenDecimals);
    const reserved = transitionPayment(payment, { type: "refundReserved", amount });
    const to = p.toAddress ?? payment.payerAddress;
    if (!to) throw new RefundAddressRequiredError(payment.id);
    const opened = openPayout("refund", amount);
    const [m] = await tx.query<{ id: string }>(
      "UPDATE merchants SET next_payout_id = next_payout_id + 1 WHERE id = $1 RETURNING next_payout_id - 1 AS id",
      [p.merchantId],
    );
    await tx.query("UPDATE payment_orders SET refunded_amount = $2, updated_at = now() WHERE id = $1", [
      payment.id,
      reserved.next.refundedAmount,
    ]);
    const id = newId();
    const [row] = await tx.query(
      `INSERT INTO refund_orders (id, merchant_id, pay_order_id, merchant_refund_id, request_hash, amount, to_address,
         status, payout_id, reason, notify_url, payout_deadline)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, date_trunc('second', now()) + make_interval(secs => $12))
       RETURNING *`,
      [
        id,
        p.merchantId,
        payment.id,
        p.merchantRefundId,
        p.requestHash,
        amount,
        to.toLowerCase(),
        opened.next.status,
        m!.id,
        p.reason,
        p.notifyUrl,
        p.payoutDeadlineSeconds,
      ],
    );
    const refund = toRefund(row!);
    await insertOutboxEvent(tx, {
      id: newId(),
      merchantId: p.merchantId,
      aggregateKind: "refund",
      aggregateId: id,
      type: opened.outbox!.type,
      payload: { ...refundWebhookPayload(refund, payment.merchantOrderId), ...opened.outbox!.payload },
    });
    return { refund, created: true };
  });
}

export function refundWebhookPayload(r: RefundOrderRecord, merchantOrderId: string) {
  return {
    refundOrderId: r.id,
    merchantRefundId: r.merchantRefundId,
    payOrderId: r.payOrderId,
    merchantOrderId,
    state: r.status,
    amount: r.amount.toString(),
    toAddress: r.toAddress,
    payoutId: r.payoutId.toString(),
    txHash: r.txHash,
  };
}

/** A merchant's refund order by refundOrderId or merchantRefundId; throws {NotFoundError}. */
export async function getRefundOrder(db: Queryable, merchantId: bigint, ref: { refundOrderId?: string; merchantRefundId?: string }) {
  const [row] = ref.refundOrderId
    ? await db.query("SELECT * FROM refund_orders WHERE merchant_id = $1 AND id = $2", [merchantId, ref.refundOrderId])
    : await db.query("SELECT * FROM refund_orders WHERE merchant_id = $1 AND merchant_refund_id = $2", [merchantId, ref.merchantRefundId]);
  if (!row) throw new NotFoundError("refund", ref.refundOrderId ?? ref.merchantRefundId ?? "");
  return toRefund(row);
}

export type RefundEventContext = {
  refund: RefundOrderRecord;
  payment: PaymentOrderRecord;
  merchant: { payoutSigner: string | null; payoutKeyMode: "merchant" | "gateway" };
};

/**
 * Applies one payout-machine event to a refund in one transaction: locks the payment, then the refund;
 * asks the state machine; lets `check` refuse (signature checks) or add the approval signature; releases
 * the reserved amount on the payment when the refund stops holding it (rejected, failed); writes the
 * refund and its outbox event.
 */
export async function applyRefundEvent(
  db: Db,
  args: {
    merchantId: bigint;
    ref: { refundOrderId?: string; merchantRefundId?: string };
    event: PayoutEvent;
    check?: (ctx: RefundEventContext) => Promise<{ signature?: string } | void>;
  },
): Promise<RefundOrderRecord> {
  return db.transaction(async (tx) => {
    const found = await getRefundOrder(tx, args.merchantId, args.ref);
    const payment = await getPaymentOrder(tx, args.merchantId, { payOrderId: found.payOrderId }, true);
    const [locked] = await tx.query("SELECT * FROM refund_orders WHERE id = $1 FOR UPDATE", [found.id]);
    const refund = toRefund(locked!);
    const { next, outbox } = transitionPayout("refund", refund, args.event);
    const [m] = await tx.query("SELECT payout_signer, payout_key_mode FROM merchants WHERE id = $1", [args.merchantId]);
    const extra = (await args.check?.({
      refund,
      payment,
      merchant: { payoutSigner: m!.payout_signer, payoutKeyMode: m!.payout_key_mode },
    })) ?? {};
    if (payoutHoldsFunds(refund.status) && !payoutHoldsFunds(next.status)) {
      const released = transitionPayment(payment, { type: "refundReleased", amount: refund.amount });
      await tx.query("UPDATE payment_orders SET refunded_amount = $2, updated_at = now() WHERE id = $1", [
        payment.id,
        released.next.refundedAmount,
      ]);
    }
    const reason = args.event.type === "reject" || args.event.type === "fail" ? args.event.reason : refund.reason;
    const [row] = await tx.query(
      `UPDATE refund_orders SET status = $2, tx_hash = $3, reason = $4, payout_signature = COALESCE($5, payout_signature),
         updated_at = now()
       WHERE id = $1 RETURNING *`,
      [refund.id, next.status, next.txHash, reason, extra.signature ?? null],
    );
    const updated = toRefund(row!);
    if (outbox) {
      await insertOutboxEvent(tx, {
        id: newId(),
        merchantId: args.merchantId,
        aggregateKind: "refund",
        aggregateId: refund.id,
        type: outbox.type,
        payload: { ...refundWebhookPayload(updated, payment.merchantOrderId), ...outbox.payload },
      });
    }
    return updated;
  });
}

/** refund/notify: queue the latest webhook again under its id (every refund has one from its creation). */
export async function requeueRefundNotification(db: Db, merchantId: bigint, ref: { refundOrderId?: string; merchantRefundId?: string }): Promise<string> {
  return db.transaction(async (tx) => {
    const o = await getRefundOrder(tx, merchantId, ref);
    const id = await requeueLatestEvent(tx, "refund", o.id);
    if (!id) throw new NotFoundError("refund", o.id);
    return id;
  });
}
