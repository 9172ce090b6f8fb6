import { PaymentStatus, PayoutStatus, RechargeStatus } from "../domain/orderStateMachine.js";

/**
 * Pay Protocol's status codes (reference section 5) from the gateway's one state machine
 * (domain/orderStateMachine.ts). Every table here is total over the domain's states; the inverse tables
 * (list filters) and the callback rules are derived from them, and test/wireStatus.test.ts checks the
 * mapping, the filters (in SQL) and the rules against each other.
 */

/** `paymentStatus` (reference 5.1). */
export const PayPaymentStatus = { Paid: 0, Pending: 1, BlockConfirmation: 2, PartiallyPaid: 3, Failed: 4, Refunded: 5 } as const;
export type PayPaymentStatus = (typeof PayPaymentStatus)[keyof typeof PayPaymentStatus];

/** `refundStatus` and `withdrawStatus` (reference 5.2, 5.4); settlements (a gateway addition) use the same codes. */
export const PayPayoutStatus = { Success: 0, PendingApproval: 1, UnderReview: 2, BlockConfirmation: 3, Failure: 4, Rejected: 5 } as const;
export type PayPayoutStatus = (typeof PayPayoutStatus)[keyof typeof PayPayoutStatus];

/** `rechargeStatus` (reference 5.3). */
export const PayRechargeStatus = { Success: 0, Pending: 1, Failure: 2 } as const;
export type PayRechargeStatus = (typeof PayRechargeStatus)[keyof typeof PayRechargeStatus];

/**
 * Payment: seed 003's state -> paymentStatus. An order whose paid refunds cover everything paid is 5 whatever
 * its state (see {paymentStatusOf}). Expired and cancelled orders are "payment failed" (4), as Pay Protocol's
 * own WooCommerce plugin reads 4 ("payment failed or the order expired").
 */
export const PAYMENT_STATUS: Readonly<Record<PaymentStatus, PayPaymentStatus>> = {
  [PaymentStatus.Unpaid]: PayPaymentStatus.Pending,
  [PaymentStatus.Incomplete]: PayPaymentStatus.PartiallyPaid,
  [PaymentStatus.AwaitingConfirmation]: PayPaymentStatus.BlockConfirmation,
  [PaymentStatus.Confirming]: PayPaymentStatus.BlockConfirmation,
  [PaymentStatus.Success]: PayPaymentStatus.Paid,
  [PaymentStatus.Failed]: PayPaymentStatus.Failed,
  [PaymentStatus.Expired]: PayPaymentStatus.Failed,
  [PaymentStatus.Cancelled]: PayPaymentStatus.Failed,
};

/** Payout (refund, withdrawal, settlement) state -> refundStatus / withdrawStatus / settlementStatus. */
export const PAYOUT_STATUS: Readonly<Record<PayoutStatus, PayPayoutStatus>> = {
  [PayoutStatus.PendingApproval]: PayPayoutStatus.PendingApproval,
  [PayoutStatus.Approved]: PayPayoutStatus.UnderReview,
  [PayoutStatus.Broadcast]: PayPayoutStatus.BlockConfirmation,
  [PayoutStatus.Success]: PayPayoutStatus.Success,
  [PayoutStatus.Rejected]: PayPayoutStatus.Rejected,
  [PayoutStatus.Failed]: PayPayoutStatus.Failure,
};

/** Recharge state -> rechargeStatus (a deposit a reorg removed is a failure unless it is mined again). */
export const RECHARGE_STATUS: Readonly<Record<RechargeStatus, PayRechargeStatus>> = {
  [RechargeStatus.AwaitingConfirmation]: PayRechargeStatus.Pending,
  [RechargeStatus.Confirming]: PayRechargeStatus.Pending,
  [RechargeStatus.Success]: PayRechargeStatus.Success,
  [RechargeStatus.Dropped]: PayRechargeStatus.Failure,
};

/** paymentStatus of an order: 5 once paid refunds cover what was paid (and something was), else its state's code. */
export function paymentStatusOf(o: { status: number; paidAmount: bigint; refundPaidAmount: bigint }): PayPaymentStatus {
  if (o.refundPaidAmount > 0n && o.refundPaidAmount >= o.paidAmount) return PayPaymentStatus.Refunded;
  return PAYMENT_STATUS[o.status as PaymentStatus];
}

export const payoutStatusOf = (status: number): PayPayoutStatus => PAYOUT_STATUS[status as PayoutStatus];
export const rechargeStatusOf = (status: number): PayRechargeStatus => RECHARGE_STATUS[status as RechargeStatus];

/** The domain states that show as `code` in a table (the inverse used by the list filters). */
export function statesOf<C extends number>(table: Readonly<Record<number, C>>, code: C): number[] {
  return Object.entries(table)
    .filter(([, c]) => c === code)
    .map(([s]) => Number(s))
    .sort((a, b) => a - b);
}

/** payment/list's `orderStatus` in the store's terms: the states, and whether the order is fully refunded. */
export function paymentListFilter(code: PayPaymentStatus): { statuses?: number[]; fullyRefunded: boolean } {
  if (code === PayPaymentStatus.Refunded) return { fullyRefunded: true };
  return { statuses: statesOf(PAYMENT_STATUS, code), fullyRefunded: false };
}

// ------------------------------------------------------------------ callbacks (reference section 4)

/** The codes whose reaching calls back (4.2 payment: paid, partially paid, failed; 4.3/4.5: success, failure, rejected; 4.4: success, failure). */
export const CALLBACK_ON = {
  payment: [PayPaymentStatus.Paid, PayPaymentStatus.PartiallyPaid, PayPaymentStatus.Failed] as readonly number[],
  refund: [PayPayoutStatus.Success, PayPayoutStatus.Failure, PayPayoutStatus.Rejected] as readonly number[],
  withdrawal: [PayPayoutStatus.Success, PayPayoutStatus.Failure, PayPayoutStatus.Rejected] as readonly number[],
  settlement: [PayPayoutStatus.Success, PayPayoutStatus.Failure, PayPayoutStatus.Rejected] as readonly number[],
  recharge: [PayRechargeStatus.Success, PayRechargeStatus.Failure] as readonly number[],
} as const;

export type CallbackKind = keyof typeof CALLBACK_ON;

const toWire: Record<CallbackKind, (s: number) => number> = {
  payment: (s) => PAYMENT_STATUS[s as PaymentStatus],
  refund: payoutStatusOf,
  withdrawal: payoutStatusOf,
  settlement: payoutStatusOf,
  recharge: rechargeStatusOf,
};

/**
 * Whether a recorded state change is one Pay Protocol calls back on: the wire status after it differs from
 * the one before and is in {CALLBACK_ON}. `from` is null for an order's first event (a new order calls back
 * only if it starts in such a status). Anything else (transfer events, snapshots) is no status change.
 */
export function isCallbackTransition(kind: CallbackKind, from: number | null | undefined, to: number | null | undefined): boolean {
  if (typeof to !== "number" || toWire[kind](to) === undefined) return false;
  const after = toWire[kind](to);
  const before = typeof from === "number" ? toWire[kind](from) : undefined;
  return after !== before && CALLBACK_ON[kind].includes(after);
}
