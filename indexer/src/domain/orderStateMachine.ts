import { IllegalTransitionError } from "./errors.js";
import { minimumAccepted } from "../pricing/tolerance.js";

/**
 * The one place where order states move. Every legal move of a payment, refund, withdrawal or recharge
 * order is listed here; anything else throws {IllegalTransitionError}. Each move returns the order's next
 * value and the outbox event (webhook) the store writes in the same transaction, or `null` when the move
 * needs no notification.
 *
 * The functions are pure: no I/O, no clock. Amounts are bigint base units.
 */

// ------------------------------------------------------------------ states

/** Payment order states (seed 003). */
export const PaymentStatus = {
  Unpaid: 0,
  Incomplete: 1, // transfers seen, less than due
  AwaitingConfirmation: 2, // enough seen in a block, not yet confirmed
  Confirming: 3, // at least one confirmation, fewer than the chain requires
  Success: 4,
  Failed: -1,
  Expired: -2,
  Cancelled: -3,
} as const;
export type PaymentStatus = (typeof PaymentStatus)[keyof typeof PaymentStatus];

/** Refund and withdrawal orders are payouts from the vault and share one machine. */
export const PayoutStatus = {
  PendingApproval: 0,
  Approved: 1,
  Broadcast: 2,
  Success: 3,
  Rejected: -1,
  Failed: -2,
} as const;
export type PayoutStatus = (typeof PayoutStatus)[keyof typeof PayoutStatus];

/** Recharge orders are created by the indexer when a deposit is seen; they reuse the payment codes 2, 3, 4, -1. */
export const RechargeStatus = {
  AwaitingConfirmation: 2,
  Confirming: 3,
  Success: 4,
  Dropped: -1, // the transfer left the chain in a reorg (back to 2 only if the same transfer is mined again)
} as const;
export type RechargeStatus = (typeof RechargeStatus)[keyof typeof RechargeStatus];

export const PAYMENT_TERMINAL: readonly number[] = [4, -1, -2, -3];
export const PAYOUT_TERMINAL: readonly number[] = [3, -1, -2];
export const RECHARGE_TERMINAL: readonly number[] = [4, -1];

export type OutboxEvent = {
  /** e.g. `payment.status_changed`, `payment.late_transfer`, `refund.status_changed` */
  type: string;
  payload: Record<string, string | number | null>;
};

export type Transition<T> = { next: T; outbox: OutboxEvent | null };

// ------------------------------------------------------------------ payment

export type PaymentOrderState = {
  status: PaymentStatus;
  /** amount due */
  amount: bigint;
  /** sum of transfers seen in blocks (confirmed or not), including late and over-payments */
  seenAmount: bigint;
  /** sum of transfers that reached the chain's confirmation depth */
  paidAmount: bigint;
  /** sum of refunds reserved or paid (refund orders not rejected or failed) */
  refundedAmount: bigint;
  /**
   * The merchant's underpayment tolerance for this order, basis points of `amount` (0..1000; default 0): the
   * order is covered once {minimumDue} arrived (pricing/tolerance.ts rounds the allowance down).
   */
  toleranceBps?: number;
};

/** What must arrive for the order to count as covered: the amount less the tolerance's allowance. */
export function minimumDue(o: Pick<PaymentOrderState, "amount" | "toleranceBps">): bigint {
  return minimumAccepted(o.amount, o.toleranceBps ?? 0);
}

export type PaymentEvent =
  | { type: "transferSeen"; amount: bigint }
  | { type: "transferConfirmed"; amount: bigint }
  | { type: "transferRemoved"; amount: bigint }
  /** a transfer of another token (or the native coin on a token order) to the order's address: shown, not counted */
  | { type: "unmatchedTransfer"; change: "seen" | "removed"; token: string; amount: bigint }
  | { type: "confirming" }
  | { type: "expire" }
  | { type: "cancel" }
  | { type: "fail"; reason: string }
  | { type: "refundReserved"; amount: bigint }
  | { type: "refundReleased"; amount: bigint };

/** What a merchant may still refund: `paid = refunded + refundable` always holds. */
export function refundableAmount(o: PaymentOrderState): bigint {
  return o.paidAmount - o.refundedAmount;
}

const isOpenPayment = (s: number) => s >= 0 && s <= 3;

export function transitionPayment(order: PaymentOrderState, event: PaymentEvent): Transition<PaymentOrderState> {
  const illegal = (reason?: string): never => {
    throw new IllegalTransitionError("payment", order.status, event.type, reason);
  };
  const changed = (next: PaymentOrderState, extra: OutboxEvent["payload"] = {}): Transition<PaymentOrderState> => ({
    next,
    outbox:
      next.status === order.status
        ? null
        : { type: "payment.status_changed", payload: { from: order.status, status: next.status, ...extra } },
  });
  const positive = (a: bigint) => {
    if (a <= 0n) illegal(`amount must be positive, got ${a}`);
  };

  switch (event.type) {
    case "transferSeen": {
      positive(event.amount);
      const seenAmount = order.seenAmount + event.amount;
      if (!isOpenPayment(order.status)) {
        // late or extra payment on a closed order: recorded, never lost, shown to the merchant
        return {
          next: { ...order, seenAmount },
          outbox: { type: "payment.late_transfer", payload: { status: order.status, amount: event.amount.toString() } },
        };
      }
      const status =
        order.status >= PaymentStatus.AwaitingConfirmation
          ? order.status
          : seenAmount >= minimumDue(order)
            ? PaymentStatus.AwaitingConfirmation
            : PaymentStatus.Incomplete;
      return changed({ ...order, seenAmount, status });
    }
    case "transferConfirmed": {
      positive(event.amount);
      const paidAmount = order.paidAmount + event.amount;
      if (paidAmount > order.seenAmount) illegal("cannot confirm more than was seen");
      if (!isOpenPayment(order.status)) return { next: { ...order, paidAmount }, outbox: null };
      const status = paidAmount >= minimumDue(order) ? PaymentStatus.Success : order.status;
      return changed({ ...order, paidAmount, status }, { paidAmount: paidAmount.toString() });
    }
    case "transferRemoved": {
      positive(event.amount);
      const seenAmount = order.seenAmount - event.amount;
      if (seenAmount < order.paidAmount) illegal("a confirmed transfer cannot be removed");
      // the merchant is told either way: by the status change, or (status kept) that the transfer went
      const removed: OutboxEvent = {
        type: "payment.transfer_removed",
        payload: { status: order.status, amount: event.amount.toString(), reason: "reorg" },
      };
      if (!isOpenPayment(order.status)) return { next: { ...order, seenAmount }, outbox: removed };
      const status = seenAmount === 0n ? PaymentStatus.Unpaid : seenAmount < minimumDue(order) ? PaymentStatus.Incomplete : order.status;
      const t = changed({ ...order, seenAmount, status }, { reason: "reorg" });
      return t.outbox ? t : { next: t.next, outbox: removed };
    }
    case "unmatchedTransfer":
      positive(event.amount);
      return {
        next: order,
        outbox: {
          type: event.change === "seen" ? "payment.unmatched_transfer" : "payment.unmatched_transfer_removed",
          payload: { status: order.status, token: event.token, amount: event.amount.toString() },
        },
      };
    case "confirming":
      if (order.status !== PaymentStatus.AwaitingConfirmation) illegal();
      return changed({ ...order, status: PaymentStatus.Confirming });
    case "expire":
      if (order.status === PaymentStatus.Unpaid) return changed({ ...order, status: PaymentStatus.Expired });
      if (order.status === PaymentStatus.Incomplete) {
        return changed({ ...order, status: PaymentStatus.Failed }, { reason: "expired while underpaid" });
      }
      return illegal("only unpaid or incomplete orders expire");
    case "cancel":
      if (order.status !== PaymentStatus.Unpaid) illegal("only an order with nothing paid can be cancelled");
      return changed({ ...order, status: PaymentStatus.Cancelled });
    case "fail":
      if (order.status < 1 || order.status > 3) illegal();
      return changed({ ...order, status: PaymentStatus.Failed }, { reason: event.reason });
    case "refundReserved": {
      positive(event.amount);
      if (!PAYMENT_TERMINAL.includes(order.status)) illegal("refunds wait until the order is closed");
      if (event.amount > refundableAmount(order)) {
        illegal(`refund of ${event.amount} exceeds the refundable ${refundableAmount(order)}`);
      }
      return { next: { ...order, refundedAmount: order.refundedAmount + event.amount }, outbox: null };
    }
    case "refundReleased": {
      positive(event.amount);
      if (event.amount > order.refundedAmount) illegal("cannot release more than was reserved");
      return { next: { ...order, refundedAmount: order.refundedAmount - event.amount }, outbox: null };
    }
  }
}

// ------------------------------------------------------------------ refund / withdrawal (payouts)

export type PayoutOrderState = { status: PayoutStatus; amount: bigint; txHash: string | null };

export type PayoutEvent =
  | { type: "approve" }
  | { type: "reject"; reason: string }
  | { type: "broadcast"; txHash: string }
  | { type: "dropped" } // the transaction left the chain or the mempool: approved again, to be re-sent
  | { type: "confirm" }
  | { type: "fail"; reason: string };

const PAYOUT_MOVES: Record<PayoutEvent["type"], Partial<Record<PayoutStatus, PayoutStatus>>> = {
  approve: { 0: 1 },
  reject: { 0: -1 },
  broadcast: { 1: 2 },
  dropped: { 2: 1 },
  confirm: { 2: 3 },
  fail: { 1: -2, 2: -2 },
};

/** @param kind `"refund"` or `"withdrawal"`: names the outbox event. */
export function transitionPayout(kind: "refund" | "withdrawal", order: PayoutOrderState, event: PayoutEvent): Transition<PayoutOrderState> {
  const to = PAYOUT_MOVES[event.type][order.status];
  if (to === undefined) throw new IllegalTransitionError(kind, order.status, event.type);
  const txHash = event.type === "broadcast" ? event.txHash : event.type === "dropped" ? null : order.txHash;
  const reason = event.type === "reject" || event.type === "fail" ? event.reason : null;
  return {
    next: { ...order, status: to, txHash },
    outbox: { type: `${kind}.status_changed`, payload: { from: order.status, status: to, txHash, reason } },
  };
}

/** A new refund or withdrawal order, pending the merchant's approval. */
export function openPayout(kind: "refund" | "withdrawal", amount: bigint): Transition<PayoutOrderState> {
  if (amount <= 0n) throw new IllegalTransitionError(kind, PayoutStatus.PendingApproval, "open", "amount must be positive");
  return {
    next: { status: PayoutStatus.PendingApproval, amount, txHash: null },
    outbox: { type: `${kind}.status_changed`, payload: { from: null, status: PayoutStatus.PendingApproval, txHash: null, reason: null } },
  };
}

/** Whether a payout in this state still holds its amount (not rejected or failed). */
export const payoutHoldsFunds = (s: number) => s !== PayoutStatus.Rejected && s !== PayoutStatus.Failed;

// ------------------------------------------------------------------ recharge

export type RechargeOrderState = { status: RechargeStatus; amount: bigint };
/** `reincluded`: a transfer dropped by a reorg was mined again (same chain, tx hash and log index) on the new branch. */
export type RechargeEvent = { type: "confirming" } | { type: "confirm" } | { type: "drop" } | { type: "reincluded" };

const RECHARGE_MOVES: Record<RechargeEvent["type"], Partial<Record<RechargeStatus, RechargeStatus>>> = {
  confirming: { 2: 3 },
  confirm: { 2: 4, 3: 4 },
  drop: { 2: -1, 3: -1 },
  reincluded: { [-1]: 2 },
};

export function transitionRecharge(order: RechargeOrderState, event: RechargeEvent): Transition<RechargeOrderState> {
  const to = RECHARGE_MOVES[event.type][order.status];
  if (to === undefined) throw new IllegalTransitionError("recharge", order.status, event.type);
  return {
    next: { ...order, status: to },
    outbox: { type: "recharge.status_changed", payload: { from: order.status, status: to } },
  };
}

/** A new recharge order, as the indexer creates it when a deposit is first seen. */
export function openRecharge(amount: bigint): Transition<RechargeOrderState> {
  if (amount <= 0n) throw new IllegalTransitionError("recharge", RechargeStatus.AwaitingConfirmation, "open", "amount must be positive");
  return {
    next: { status: RechargeStatus.AwaitingConfirmation, amount },
    outbox: { type: "recharge.status_changed", payload: { from: null, status: RechargeStatus.AwaitingConfirmation } },
  };
}

// ------------------------------------------------------------------ invariants (used by the store's checks and the tests)

/** Throws if a payment order's numbers contradict each other. */
export function assertPaymentInvariants(o: PaymentOrderState): void {
  const bad = (why: string): never => {
    throw new IllegalTransitionError("payment", o.status, "invariant", why);
  };
  if (o.amount <= 0n) bad("amount due must be positive");
  if (o.paidAmount < 0n || o.paidAmount > o.seenAmount) bad("0 <= paid <= seen");
  if (o.refundedAmount < 0n || o.refundedAmount > o.paidAmount) bad("0 <= refunded <= paid");
  if (o.status === PaymentStatus.Success && o.paidAmount < minimumDue(o)) bad("success needs paid >= due (less the tolerance)");
  if (isOpenPayment(o.status)) {
    if ((o.status === PaymentStatus.Unpaid) !== (o.seenAmount === 0n)) bad("unpaid iff nothing seen");
    if (o.status === PaymentStatus.Incomplete && o.seenAmount >= minimumDue(o)) bad("incomplete needs seen < due");
    if (o.status >= 2 && o.seenAmount < minimumDue(o)) bad("awaiting/confirming needs seen >= due");
    if (o.refundedAmount !== 0n) bad("no refunds while open");
  }
}
