/**
 * The status mapping of the wire (src/wire/status.ts) against the one state machine and against the SQL of the
 * list filters: every domain state maps to one of Pay Protocol's codes, the list filter of a code finds exactly
 * the orders shown with that code, a withdrawal's state in SQL (lists) is the one the presenters compute, and
 * callbacks go out on exactly the status changes the reference lists (section 4).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import {
  PaymentStatus,
  PayoutStatus,
  RechargeStatus,
  transitionPayment,
  type PaymentEvent,
  type PaymentOrderState,
} from "../src/domain/orderStateMachine.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import type { Db } from "../src/store/db.js";
import { createMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { listPaymentViews } from "../src/store/paymentOrders.js";
import { applicationStatus, listPayoutApplications } from "../src/store/payoutOrders.js";
import {
  CALLBACK_ON,
  isCallbackTransition,
  PAYMENT_STATUS,
  paymentListFilter,
  paymentStatusOf,
  PAYOUT_STATUS,
  PayPaymentStatus,
  PayPayoutStatus,
  RECHARGE_STATUS,
  statesOf,
} from "../src/wire/status.js";
import { testConfig } from "./helpers.js";

const PAYMENT_STATES = Object.values(PaymentStatus);
const PAYOUT_STATES = Object.values(PayoutStatus);
const RECHARGE_STATES = Object.values(RechargeStatus);

describe("wire status mapping", () => {
  it("is total: every domain state has exactly one Pay Protocol code, and the inverse tables return it", () => {
    for (const [table, states, codes] of [
      [PAYMENT_STATUS, PAYMENT_STATES, [0, 1, 2, 3, 4]],
      [PAYOUT_STATUS, PAYOUT_STATES, [0, 1, 2, 3, 4, 5]],
      [RECHARGE_STATUS, RECHARGE_STATES, [0, 1, 2]],
    ] as const) {
      assert.deepEqual(Object.keys(table).map(Number).sort(), [...states].sort());
      for (const s of states) {
        const code = (table as Record<number, number>)[s]!;
        assert.ok((codes as readonly number[]).includes(code), `state ${s} -> ${code}`);
        assert.ok(statesOf(table as Readonly<Record<number, number>>, code).includes(s));
      }
      // every code the reference lists for the kind is reachable (5 refunded is reached by amounts, below)
      for (const c of codes) assert.ok(statesOf(table as Readonly<Record<number, number>>, c).length > 0, `code ${c} is reachable`);
    }
  });

  it("paymentStatus: 5 exactly when paid refunds cover what was paid, else the state's code (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PAYMENT_STATES),
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        (status, paid, refundPaid) => {
          const code = paymentStatusOf({ status, paidAmount: paid, refundPaidAmount: refundPaid });
          if (refundPaid > 0n && refundPaid >= paid) assert.equal(code, PayPaymentStatus.Refunded);
          else assert.equal(code, PAYMENT_STATUS[status]);
        },
      ),
    );
  });

  it("callbacks go out on the reference's status changes only, along every path of the state machine (property)", () => {
    assert.deepEqual([...CALLBACK_ON.payment].sort(), [0, 3, 4]);
    assert.deepEqual([...CALLBACK_ON.refund].sort(), [0, 4, 5]);
    assert.deepEqual([...CALLBACK_ON.withdrawal].sort(), [0, 4, 5]);
    assert.deepEqual([...CALLBACK_ON.recharge].sort(), [0, 2]);
    const event: fc.Arbitrary<PaymentEvent> = fc.oneof(
      fc.record({ type: fc.constant("transferSeen" as const), amount: fc.bigInt({ min: 1n, max: 30n }) }),
      fc.record({ type: fc.constant("transferConfirmed" as const), amount: fc.bigInt({ min: 1n, max: 30n }) }),
      fc.record({ type: fc.constant("transferRemoved" as const), amount: fc.bigInt({ min: 1n, max: 30n }) }),
      fc.constantFrom(
        { type: "confirming" as const },
        { type: "expire" as const },
        { type: "cancel" as const },
        { type: "fail" as const, reason: "x" },
      ),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 12 }), (events) => {
        let o: PaymentOrderState = { status: 0, amount: 20n, seenAmount: 0n, paidAmount: 0n, refundedAmount: 0n };
        for (const e of events) {
          let t;
          try {
            t = transitionPayment(o, e);
          } catch {
            continue; // an illegal move: the store never writes it
          }
          if (t.outbox?.type === "payment.status_changed") {
            const from = Number(t.outbox.payload.from);
            const to = Number(t.outbox.payload.status);
            const before = PAYMENT_STATUS[from as PaymentStatus];
            const after = PAYMENT_STATUS[to as PaymentStatus];
            assert.equal(isCallbackTransition("payment", from, to), before !== after && [0, 3, 4].includes(after), `${from} -> ${to}`);
          }
          o = t.next;
        }
      }),
    );
    // the moves a merchant hears about, by name
    assert.ok(isCallbackTransition("payment", 3, 4), "confirming -> success: paid");
    assert.ok(isCallbackTransition("payment", 0, 1), "a first partial transfer: partially paid");
    assert.ok(isCallbackTransition("payment", 0, -2), "expired: failed");
    assert.ok(!isCallbackTransition("payment", 0, 2), "seen in a block: block confirmation, no callback");
    assert.ok(!isCallbackTransition("payment", 2, 3), "awaiting -> confirming is one Pay Protocol status");
    assert.ok(isCallbackTransition("refund", 2, 3) && isCallbackTransition("refund", 0, -1) && isCallbackTransition("refund", 2, -2));
    assert.ok(
      !isCallbackTransition("refund", null, 0) && !isCallbackTransition("refund", 0, 1) && !isCallbackTransition("withdrawal", 1, 2),
    );
    assert.ok(isCallbackTransition("recharge", 3, 4) && isCallbackTransition("recharge", 2, -1) && !isCallbackTransition("recharge", 2, 3));
  });

  describe("in SQL (PGlite)", () => {
    let db: Db;
    before(async () => {
      db = await openStore({ pgliteDir: "memory://" });
      await createMerchant(db, createSecretBox(testConfig().masterKey), { name: "M", id: 1n });
    });
    after(async () => db?.close());

    it("payment/list's orderStatus filter finds exactly the orders shown with that paymentStatus (property)", async () => {
      const order = fc.record({
        status: fc.constantFrom(...PAYMENT_STATES),
        paid: fc.bigInt({ min: 0n, max: 5n }),
        refunds: fc.array(fc.record({ amount: fc.bigInt({ min: 1n, max: 3n }), status: fc.constantFrom(0, 1, 2, 3, -1, -2) }), {
          maxLength: 3,
        }),
      });
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(order, { minLength: 1, maxLength: 25 }), async (orders) => {
          const merchant = BigInt(++run + 10);
          await db.query("INSERT INTO merchants (id, name, webhook_secret_enc) VALUES ($1, 'p', '\\x00')", [merchant]);
          let payoutId = 0;
          const expected = new Map<string, number>();
          for (const [i, o] of orders.entries()) {
            const id = `P${run}-${i}`;
            await db.query(
              `INSERT INTO payment_orders (id, merchant_id, merchant_order_id, request_hash, chain_id, token_address, token_symbol, token_decimals, amount,
                 status, seen_amount, paid_amount, notify_url, access_sign, expires_at, quote_symbol, quote_amount)
               VALUES ($1, $2, $1, 'h', 31337, '0x0', 'T', 0, 5, $3, $4, $4, 'https://x.test', 'A', now(), 'T', '5')`,
              [id, merchant, o.status, o.paid],
            );
            let refundPaid = 0n;
            for (const r of o.refunds) {
              await db.query(
                `INSERT INTO refund_orders (id, merchant_id, pay_order_id, request_hash, amount, to_address, status, payout_id) VALUES ($1, $2, $3, 'h', $4, '0x1', $5, $6)`,
                [`${id}-r${++payoutId}`, merchant, id, r.amount, r.status, payoutId],
              );
              if (r.status === 3) refundPaid += r.amount;
            }
            expected.set(id, paymentStatusOf({ status: o.status, paidAmount: o.paid, refundPaidAmount: refundPaid }));
          }
          for (const code of Object.values(PayPaymentStatus)) {
            const { list, count } = await listPaymentViews(db, merchant, paymentListFilter(code), { page: 1, size: 500 });
            const want = [...expected]
              .filter(([, c]) => c === code)
              .map(([id]) => id)
              .sort();
            assert.deepEqual(list.map((v) => v.id).sort(), want, `orderStatus ${code}`);
            assert.equal(count, want.length);
            for (const v of list) assert.equal(paymentStatusOf(v), code, "the view's refundPaidAmount agrees");
          }
        }),
        { numRuns: 15 },
      );
    });

    it("a withdrawal's state in SQL (the list's filter) is applicationStatus of its lines (property)", async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(fc.constantFrom(...PAYOUT_STATES), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }),
          async (apps) => {
            const merchant = BigInt(++run + 1000);
            await db.query("INSERT INTO merchants (id, name, webhook_secret_enc) VALUES ($1, 'w', '\\x00')", [merchant]);
            const expected = new Map<string, number>();
            let payoutId = 0;
            for (const lines of apps) {
              const [w] = await db.query<{ id: string }>(
                "INSERT INTO withdrawals (merchant_id, request_hash, chain_id, token_address) VALUES ($1, 'h', 31337, '0x0') RETURNING id::text",
                [merchant],
              );
              for (const [i, s] of lines.entries()) {
                await db.query(
                  `INSERT INTO withdrawal_orders (id, merchant_id, withdraw_id, line_no, request_hash, chain_id, token_address, amount, to_address, status, payout_id)
                 VALUES ($1, $2, $3, $4, 'h', 31337, '0x0', 1, '0x1', $5, $6)`,
                  [`W${merchant}-${w!.id}-${i}`, merchant, w!.id, i + 1, s, ++payoutId],
                );
              }
              expected.set(w!.id, applicationStatus(lines));
            }
            for (const code of Object.values(PayPayoutStatus)) {
              const statuses = statesOf(PAYOUT_STATUS, code);
              const { list } = await listPayoutApplications(db, "withdrawal", merchant, { statuses }, { page: 1, size: 500 });
              const want = [...expected]
                .filter(([, s]) => statuses.includes(s))
                .map(([id]) => id)
                .sort();
              assert.deepEqual(list.map((a) => a.no.toString()).sort(), want, `withdrawStatus ${code}`);
              for (const a of list) assert.equal(a.status, expected.get(a.no.toString()));
            }
          },
        ),
        { numRuns: 15 },
      );
    });
  });
});
