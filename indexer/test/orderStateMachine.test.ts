import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { IllegalTransitionError } from "../src/domain/errors.js";
import {
  PAYMENT_TERMINAL,
  assertPaymentInvariants,
  openRecharge,
  payoutHoldsFunds,
  refundableAmount,
  transitionPayment,
  transitionPayout,
  transitionRecharge,
  type PaymentEvent,
  type PaymentOrderState,
  type PayoutEvent,
  type PayoutOrderState,
  type RechargeEvent,
} from "../src/domain/orderStateMachine.js";

/** Payment status moves the machine may make: seed 003's table plus reorg rollbacks before success. */
const PAYMENT_EDGES = new Set([
  "0>1",
  "0>2",
  "0>-2",
  "0>-3",
  "1>0",
  "1>2",
  "1>-1",
  "2>0",
  "2>1",
  "2>3",
  "2>4",
  "2>-1",
  "3>0",
  "3>1",
  "3>4",
  "3>-1",
]);
const PAYOUT_EDGES = new Set(["0>1", "0>-1", "1>2", "1>-2", "2>1", "2>3", "2>-2"]);

const fresh = (amount: bigint): PaymentOrderState => ({
  status: 0,
  amount,
  seenAmount: 0n,
  paidAmount: 0n,
  refundedAmount: 0n,
});

const amountArb = fc.bigInt({ min: 0n, max: 150n });
const paymentEventArb: fc.Arbitrary<PaymentEvent> = fc.oneof(
  amountArb.map((amount) => ({ type: "transferSeen" as const, amount })),
  amountArb.map((amount) => ({ type: "transferConfirmed" as const, amount })),
  amountArb.map((amount) => ({ type: "transferRemoved" as const, amount })),
  fc.constant({ type: "confirming" as const }),
  fc.constant({ type: "expire" as const }),
  fc.constant({ type: "cancel" as const }),
  fc.constant({ type: "fail" as const, reason: "test" }),
);
const payoutEventArb: fc.Arbitrary<PayoutEvent> = fc.oneof(
  fc.constant({ type: "approve" as const }),
  fc.constant({ type: "reject" as const, reason: "no" }),
  fc.constant({ type: "broadcast" as const, txHash: "0xabc" }),
  fc.constant({ type: "dropped" as const }),
  fc.constant({ type: "confirm" as const }),
  fc.constant({ type: "fail" as const, reason: "reverted" }),
);

type Step =
  | { kind: "payment"; event: PaymentEvent }
  | { kind: "createRefund"; amount: bigint }
  | { kind: "refund"; index: number; event: PayoutEvent };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: paymentEventArb.map((event) => ({ kind: "payment" as const, event })) },
  { weight: 2, arbitrary: amountArb.map((amount) => ({ kind: "createRefund" as const, amount })) },
  {
    weight: 3,
    arbitrary: fc.record({ index: fc.nat(5), event: payoutEventArb }).map((r) => ({ kind: "refund" as const, ...r })),
  },
);

/** Applies `f`; an IllegalTransitionError leaves the state as it was, any other error fails the test. */
function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof IllegalTransitionError) return undefined;
    throw e;
  }
}

describe("order state machine", () => {
  it("payment: the happy path and its outbox events", () => {
    let o = fresh(100n);
    let t = transitionPayment(o, { type: "transferSeen", amount: 40n });
    assert.equal(t.next.status, 1);
    assert.deepEqual(t.outbox, { type: "payment.status_changed", payload: { from: 0, status: 1 } });
    o = transitionPayment(t.next, { type: "transferSeen", amount: 60n }).next;
    assert.equal(o.status, 2);
    o = transitionPayment(o, { type: "confirming" }).next;
    assert.equal(o.status, 3);
    t = transitionPayment(o, { type: "transferConfirmed", amount: 100n });
    assert.equal(t.next.status, 4);
    assert.equal(t.outbox?.payload.status, 4);
    // a late transfer on a closed order is recorded and reported, not lost
    t = transitionPayment(t.next, { type: "transferSeen", amount: 5n });
    assert.equal(t.next.status, 4);
    assert.equal(t.next.seenAmount, 105n);
    assert.equal(t.outbox?.type, "payment.late_transfer");
  });

  it("payment: illegal moves throw", () => {
    const paid = { ...fresh(10n), status: 4 as const, seenAmount: 10n, paidAmount: 10n };
    assert.throws(() => transitionPayment(paid, { type: "cancel" }), IllegalTransitionError);
    assert.throws(() => transitionPayment(paid, { type: "expire" }), IllegalTransitionError);
    assert.throws(() => transitionPayment(fresh(10n), { type: "confirming" }), IllegalTransitionError);
    assert.throws(() => transitionPayment(fresh(10n), { type: "transferConfirmed", amount: 1n }), /more than was seen/);
    assert.throws(() => transitionPayment(fresh(10n), { type: "refundReserved", amount: 1n }), IllegalTransitionError);
    assert.throws(() => transitionPayment(paid, { type: "refundReserved", amount: 11n }), /exceeds the refundable 10/);
    const seen = transitionPayment(fresh(10n), { type: "transferSeen", amount: 3n }).next;
    assert.throws(() => transitionPayment(seen, { type: "cancel" }), /nothing paid/);
    assert.equal(transitionPayment(fresh(10n), { type: "cancel" }).next.status, -3);
    assert.equal(transitionPayment(seen, { type: "expire" }).next.status, -1, "underpaid at expiry fails");
  });

  it("payouts and recharges follow their tables", () => {
    let r: PayoutOrderState = { status: 0, amount: 5n, txHash: null };
    r = transitionPayout("refund", r, { type: "approve" }).next;
    const b = transitionPayout("refund", r, { type: "broadcast", txHash: "0x01" });
    assert.equal(b.next.txHash, "0x01");
    assert.equal(b.outbox?.type, "refund.status_changed");
    assert.equal(transitionPayout("refund", b.next, { type: "confirm" }).next.status, 3);
    assert.throws(
      () => transitionPayout("withdrawal", { status: 3, amount: 1n, txHash: "0x" }, { type: "fail", reason: "x" }),
      IllegalTransitionError,
    );
    const rc = openRecharge(9n);
    assert.equal(rc.next.status, 2);
    assert.equal(transitionRecharge(rc.next, { type: "confirm" }).next.status, 4);
    assert.throws(() => transitionRecharge({ status: 4, amount: 9n }, { type: "drop" }), IllegalTransitionError);
    assert.throws(() => openRecharge(0n), IllegalTransitionError);
  });

  it("random event sequences never reach an illegal state and never lose money (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 100n }), fc.array(stepArb, { maxLength: 60 }), (due, steps) => {
        let p = fresh(due);
        const refunds: PayoutOrderState[] = [];
        for (const step of steps) {
          if (step.kind === "payment") {
            const before = p.status;
            const t = attempt(() => transitionPayment(p, step.event));
            if (t) {
              if (t.next.status !== before) {
                assert.ok(PAYMENT_EDGES.has(`${before}>${t.next.status}`), `illegal edge ${before}>${t.next.status}`);
                assert.ok(t.outbox, "a status change always writes an outbox event");
                assert.equal(t.outbox.payload.status, t.next.status);
              }
              if (PAYMENT_TERMINAL.includes(before)) assert.equal(t.next.status, before, "terminal states are final");
              p = t.next;
            }
          } else if (step.kind === "createRefund") {
            const t = attempt(() => transitionPayment(p, { type: "refundReserved", amount: step.amount }));
            if (t) {
              p = t.next;
              refunds.push({ status: 0, amount: step.amount, txHash: null });
            }
          } else {
            const r = refunds[step.index];
            if (!r) continue;
            const t = attempt(() => transitionPayout("refund", r, step.event));
            if (!t) continue;
            assert.ok(PAYOUT_EDGES.has(`${r.status}>${t.next.status}`));
            if (payoutHoldsFunds(r.status) && !payoutHoldsFunds(t.next.status)) {
              p = transitionPayment(p, { type: "refundReleased", amount: r.amount }).next;
            }
            refunds[step.index] = t.next;
          }
          assertPaymentInvariants(p);
          const held = refunds.filter((r) => payoutHoldsFunds(r.status)).reduce((s, r) => s + r.amount, 0n);
          assert.equal(p.refundedAmount, held, "refunded = sum of refunds not rejected or failed");
          assert.equal(p.paidAmount, p.refundedAmount + refundableAmount(p), "paid = refunded + refundable");
          assert.ok(refundableAmount(p) >= 0n);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("every (state, event) pair either moves legally or throws IllegalTransitionError", () => {
    const recharge: RechargeEvent[] = [{ type: "confirming" }, { type: "confirm" }, { type: "drop" }];
    for (const s of [2, 3, 4, -1] as const) {
      for (const e of recharge) attempt(() => transitionRecharge({ status: s, amount: 1n }, e));
    }
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 2, 3, -1, -2), payoutEventArb, (s, e) => {
        const t = attempt(() => transitionPayout("withdrawal", { status: s as PayoutOrderState["status"], amount: 1n, txHash: null }, e));
        if (t) assert.ok(PAYOUT_EDGES.has(`${s}>${t.next.status}`));
      }),
    );
  });
});
