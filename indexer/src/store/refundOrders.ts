import { newId } from "../domain/ids.js";
import { refundableAmount, transitionPayment } from "../domain/orderStateMachine.js";
import type { Db, Queryable } from "./db.js";
import { IdempotencyConflictError, RefundAddressRequiredError } from "./errors.js";
import { getPaymentOrder, type PaymentOrderRecord, type PaymentOrderRef } from "./paymentOrders.js";
import {
  getPayoutApplication,
  nextPayoutId,
  openPayoutOrder,
  toPayoutOrder,
  writePayoutEvent,
  type PayoutApplication,
} from "./payoutOrders.js";

/**
 * Creates a refund of part or all of a closed payment, pending the merchant's approval, in one transaction:
 * locks the payment, reserves the amount through the state machine (never more than paid minus refunds already
 * reserved), takes the merchant's next vault payout id, writes the refund and its outbox event. Idempotent by
 * (merchant, outRefundNo) when one is given; without one every call is a new refund (the API accepts a signed
 * request once). Approval, rejection, execution: payoutOrders.ts.
 */
export async function createRefundOrder(
  db: Db,
  p: {
    merchantId: bigint;
    payment: PaymentOrderRef;
    outRefundNo: string | null;
    requestHash: string;
    /** base units, from the locked payment (the API's default: everything still refundable) */
    amount: (payment: PaymentOrderRecord, refundable: bigint) => bigint;
    /** lowercase or checksummed; null: the payer (the sender of the payment's first transfer) */
    toAddress: string | null;
    /** refuses a recipient (zero address, the vault, a deposit address) by throwing; queries through `tx` */
    checkRecipient: (tx: Queryable, payment: PaymentOrderRecord, to: string) => Promise<void>;
    reason: string | null;
    notifyUrl: string | null;
    payoutDeadlineSeconds: number;
  },
): Promise<{ refund: PayoutApplication; created: boolean }> {
  return db.transaction(async (tx) => {
    const payment = await getPaymentOrder(tx, p.merchantId, p.payment, true);
    if (p.outRefundNo !== null) {
      const [existing] = await tx.query(
        "SELECT refund_no, request_hash FROM refund_orders WHERE merchant_id = $1 AND merchant_refund_id = $2",
        [p.merchantId, p.outRefundNo],
      );
      if (existing) {
        if (existing.request_hash !== p.requestHash) throw new IdempotencyConflictError("outRefundNo", p.outRefundNo);
        return { refund: await getPayoutApplication(tx, "refund", p.merchantId, { no: BigInt(existing.refund_no) }), created: false };
      }
    }
    const amount = p.amount(payment, refundableAmount(payment));
    const reserved = transitionPayment(payment, { type: "refundReserved", amount });
    const to = p.toAddress ?? payment.payerAddress;
    if (!to) throw new RefundAddressRequiredError(payment.merchantOrderId);
    await p.checkRecipient(tx, payment, to);
    const opened = openPayoutOrder("refund", amount);
    const payoutId = await nextPayoutId(tx, p.merchantId);
    await tx.query("UPDATE payment_orders SET refunded_amount = $2, updated_at = now() WHERE id = $1", [
      payment.id,
      reserved.next.refundedAmount,
    ]);
    const [row] = await tx.query(
      `INSERT INTO refund_orders (id, merchant_id, pay_order_id, merchant_refund_id, request_hash, amount, to_address,
         status, payout_id, reason, notify_url, payout_deadline)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, date_trunc('second', now()) + make_interval(secs => $12))
       RETURNING *, refund_no AS no, merchant_refund_id AS merchant_ref`,
      [
        newId(),
        p.merchantId,
        payment.id,
        p.outRefundNo,
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
    });
    await writePayoutEvent(tx, refund, opened.outbox!);
    return { refund: await getPayoutApplication(tx, "refund", p.merchantId, { no: refund.no }), created: true };
  });
}
