import { newId } from "../domain/ids.js";
import { transitionPayment } from "../domain/orderStateMachine.js";
import type { Db } from "./db.js";
import { IdempotencyConflictError, RefundAddressRequiredError } from "./errors.js";
import { getPaymentOrder, type PaymentOrderRef } from "./paymentOrders.js";
import { getPayoutOrder, nextPayoutId, openPayoutOrder, toPayoutOrder, writePayoutEvent, type PayoutOrderRecord } from "./payoutOrders.js";

/** Refunds are payout orders of kind "refund" (see payoutOrders.ts); this module holds what only refunds do. */
export type RefundOrderRecord = PayoutOrderRecord & { kind: "refund"; payOrderId: string; merchantOrderId: string; tokenDecimals: number };

/**
 * Creates a refund order for part or all of a closed payment, pending the merchant's approval, in one
 * transaction: locks the payment, reserves the amount through the state machine (never more than paid
 * minus refunds already reserved), takes the merchant's next vault payout id, writes the refund and its
 * outbox event. Idempotent by (merchant, merchantRefundId). Approval, rejection, execution: payoutOrders.ts.
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
    const [existing] = await tx.query("SELECT id, request_hash FROM refund_orders WHERE merchant_id = $1 AND merchant_refund_id = $2", [
      p.merchantId,
      p.merchantRefundId,
    ]);
    if (existing) {
      if (existing.request_hash !== p.requestHash) throw new IdempotencyConflictError("merchantRefundId", p.merchantRefundId);
      return { refund: (await getPayoutOrder(tx, "refund", p.merchantId, { id: existing.id })) as RefundOrderRecord, created: false };
    }
    const amount = p.amount(payment.tokenDecimals);
    const reserved = transitionPayment(payment, { type: "refundReserved", amount });
    const to = p.toAddress ?? payment.payerAddress;
    if (!to) throw new RefundAddressRequiredError(payment.id);
    const opened = openPayoutOrder("refund", amount);
    const payoutId = await nextPayoutId(tx, p.merchantId);
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
        payoutId,
        p.reason,
        p.notifyUrl,
        p.payoutDeadlineSeconds,
      ],
    );
    const refund = toPayoutOrder("refund", {
      ...row!,
      merchant_order_id: payment.merchantOrderId,
      chain_id: payment.chainId,
      token_address: payment.tokenAddress,
      token_decimals: payment.tokenDecimals,
    }) as RefundOrderRecord;
    await writePayoutEvent(tx, refund, opened.outbox!);
    return { refund, created: true };
  });
}

/** A merchant's refund by refundOrderId or merchantRefundId; throws {NotFoundError}. */
export async function getRefundOrder(
  db: Db,
  merchantId: bigint,
  ref: { refundOrderId?: string; merchantRefundId?: string },
): Promise<RefundOrderRecord> {
  return (await getPayoutOrder(db, "refund", merchantId, refundRef(ref))) as RefundOrderRecord;
}

/** The API's reference names to the payout store's. */
export const refundRef = (ref: { refundOrderId?: string; merchantRefundId?: string }) =>
  ref.refundOrderId !== undefined ? { id: ref.refundOrderId } : { merchantRef: ref.merchantRefundId ?? "" };
