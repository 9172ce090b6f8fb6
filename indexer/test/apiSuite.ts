import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DepositKind, depositAddress } from "../src/domain/depositAddress.js";
import { ErrorCode } from "../src/api/errors.js";
import { createPaymentExpiryJob } from "../src/jobs/expirePaymentOrders.js";
import { newId } from "../src/domain/ids.js";
import { applyPaymentEvent } from "../src/store/paymentOrders.js";
import { privateKeyToAccount } from "viem/accounts";
import { SIGNER_KEY, USDT, VAULT, call, startGateway, tableCounts, type Backend, type TestGateway } from "./helpers.js";

/** The merchant API suite, run over real HTTP against one backend. */
export function apiSuite(backend: Backend) {
  describe(`merchant API over HTTP (${backend})`, () => {
    let gw: TestGateway;
    let A: TestGateway["merchants"][number];
    let B: TestGateway["merchants"][number];
    let seq = 0;
    const order = (over: Record<string, unknown> = {}) => ({
      merchantOrderId: `order-${++seq}`,
      chainId: 31337,
      token: "USDT",
      amount: "12.50",
      notifyUrl: "https://shop.example.test/notify",
      redirectionUrl: "https://shop.example.test/done",
      ...over,
    });

    before(async () => {
      gw = await startGateway(backend);
      [A, B] = gw.merchants as [typeof A, typeof B];
    });
    after(async () => {
      await gw?.close();
    });

    it("createPaymentOrder leases a deposit address and returns the pay URL", async () => {
      const req = order();
      const res = await call(gw, A, "POST", "payment/createPaymentOrder", req);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.code, 200);
      assert.equal(res.body.msg, "success");
      const d = res.body.data;
      assert.match(d.payOrderId, /^[0-9A-HJKMNP-TV-Z]{26}$/);
      assert.match(d.accessSign, /^[0-9A-F]{64}$/);
      assert.equal(d.state, 0);
      assert.equal(d.amount, "12.5");
      assert.equal(d.amountBaseUnits, "12500000");
      assert.equal(d.token, USDT);
      assert.equal(d.receiptAddress, depositAddress({ vault: VAULT, merchantId: 1n, kind: DepositKind.Payment, key: 0n }));
      const url = new URL(d.paymentUrl);
      assert.equal(url.origin + url.pathname, "https://pay.example.test/pay");
      assert.deepEqual([...url.searchParams.keys()], ["accessSign", "merchantOrderId", "payOrderId", "chainCode"]);
      assert.equal(url.searchParams.get("payOrderId"), d.payOrderId);
      assert.equal(url.searchParams.get("chainCode"), "local");
      assert.ok(d.expireAt > Date.now() + 29 * 60_000 && d.expireAt <= Date.now() + 30 * 60_000);

      const byId = await call(gw, A, "GET", "payment/detail", { payOrderId: d.payOrderId });
      assert.equal(byId.status, 200);
      assert.deepEqual(byId.body.data.receiptAddress, d.receiptAddress);
      assert.equal(byId.body.data.refundableAmount, "0");
      const byMerchantId = await call(gw, A, "GET", "payment/detail", { merchantOrderId: req.merchantOrderId });
      assert.equal(byMerchantId.body.data.payOrderId, d.payOrderId);
    });

    it("a repeated create returns the same order; different parameters are a conflict", async () => {
      const req = order({ token: "ETH", amount: "0.000000000000000001" });
      const first = await call(gw, A, "POST", "payment/createPaymentOrder", req);
      const again = await call(gw, A, "POST", "payment/createPaymentOrder", req);
      assert.equal(again.status, 200);
      assert.equal(again.body.data.payOrderId, first.body.data.payOrderId);
      assert.equal(again.body.data.amountBaseUnits, "1");
      const before = await tableCounts(gw.db);
      const changed = await call(gw, A, "POST", "payment/createPaymentOrder", { ...req, amount: "2" });
      assert.equal(changed.status, 409);
      assert.equal(changed.body.code, 40901);
      assert.match(changed.body.msg, /merchantOrderId/);
      assert.deepEqual(await tableCounts(gw.db), before);
    });

    it("cancel closes an unpaid order, writes its webhook to the outbox and rests the address", async () => {
      const created = (await call(gw, A, "POST", "payment/createPaymentOrder", order())).body.data;
      const res = await call(gw, A, "POST", "payment/cancel", { payOrderId: created.payOrderId });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.data.state, -3);
      const events = await gw.db.query("SELECT type, payload FROM outbox_events WHERE aggregate_id = $1", [created.payOrderId]);
      assert.equal(events.length, 1);
      assert.equal(events[0]!.type, "payment.status_changed");
      assert.equal(events[0]!.payload.data.state, -3);
      assert.equal(events[0]!.payload.data.merchantOrderId, created.merchantOrderId);
      const [pool] = await gw.db.query(
        "SELECT order_id, available_at > now() AS resting FROM address_pool WHERE chain_id = 31337 AND address = $1",
        [created.receiptAddress.toLowerCase()],
      );
      assert.equal(pool!.order_id, null);
      assert.equal(pool!.resting, true);
      const twice = await call(gw, A, "POST", "payment/cancel", { payOrderId: created.payOrderId });
      assert.equal(twice.status, 409);
      assert.equal(twice.body.code, 40902);

      // the longest-rested address is leased first (a rested one before any younger free one)
      await gw.db.query("UPDATE address_pool SET available_at = now() - interval '1 day' WHERE address = $1", [
        created.receiptAddress.toLowerCase(),
      ]);
      const next = (await call(gw, A, "POST", "payment/createPaymentOrder", order())).body.data;
      assert.equal(next.receiptAddress, created.receiptAddress);
    });

    it("expiry moves unpaid orders to -2 with a webhook and rests the address; notify re-queues the same event", async () => {
      const created = (await call(gw, A, "POST", "payment/createPaymentOrder", order({ expireSeconds: 60 }))).body.data;
      const job = createPaymentExpiryJob({ db: gw.db, poolCooldownSeconds: 600 });
      assert.equal(await job.runOnce(), 0, "nothing is due yet");
      await gw.db.query("UPDATE payment_orders SET expires_at = now() - interval '1 second' WHERE id = $1", [created.payOrderId]);
      assert.equal(await job.runOnce(), 1);
      const detail = await call(gw, A, "GET", "payment/detail", { payOrderId: created.payOrderId });
      assert.equal(detail.body.data.state, -2);
      const [pool] = await gw.db.query("SELECT order_id FROM address_pool WHERE address = $1", [created.receiptAddress.toLowerCase()]);
      assert.equal(pool!.order_id, null);
      const [event] = await gw.db.query<{ id: string }>(
        "SELECT id FROM outbox_events WHERE aggregate_id = $1 AND type = 'payment.status_changed'",
        [created.payOrderId],
      );
      await gw.db.query("UPDATE outbox_events SET delivered_at = now() WHERE id = $1", [event!.id]);
      const notify = await call(gw, A, "POST", "payment/notify", { payOrderId: created.payOrderId });
      assert.equal(notify.status, 200, JSON.stringify(notify.body));
      assert.equal(notify.body.data.eventId, event!.id, "a re-send keeps the event id");
      const [queued] = await gw.db.query("SELECT delivered_at FROM outbox_events WHERE id = $1", [event!.id]);
      assert.equal(queued!.delivered_at, null);
      // an order that never changed state gets a snapshot event
      const fresh = (await call(gw, A, "POST", "payment/createPaymentOrder", order())).body.data;
      const snap = await call(gw, A, "POST", "payment/notify", { merchantOrderId: fresh.merchantOrderId });
      const [s] = await gw.db.query("SELECT type FROM outbox_events WHERE id = $1", [snap.body.data.eventId]);
      assert.equal(s!.type, "payment.snapshot");
    });

    it("one merchant can never see or touch another's orders", async () => {
      const created = (await call(gw, A, "POST", "payment/createPaymentOrder", order())).body.data;
      const seen = await call(gw, B, "GET", "payment/detail", { payOrderId: created.payOrderId });
      assert.equal(seen.status, 404);
      assert.equal(seen.body.code, 40401);
      const cancel = await call(gw, B, "POST", "payment/cancel", { merchantOrderId: created.merchantOrderId });
      assert.equal(cancel.status, 404);
      const mine = await call(gw, A, "GET", "payment/detail", { payOrderId: created.payOrderId });
      assert.equal(mine.body.data.state, 0);
      // the same merchantOrderId is free for another merchant
      const other = await call(gw, B, "POST", "payment/createPaymentOrder", order({ merchantOrderId: created.merchantOrderId }));
      assert.equal(other.status, 200);
      assert.notEqual(other.body.data.payOrderId, created.payOrderId);
      assert.equal(other.body.data.receiptAddress, depositAddress({ vault: VAULT, merchantId: 2n, kind: 1, key: 0n }));
    });

    it("refuses bad signatures, stale timestamps, reused nonces and other merchants' keys, changing nothing", async () => {
      const before = await tableCounts(gw.db);
      const cases: [string, Parameters<typeof call>[5], number][] = [
        ["wrong signature", { sign: "ab".repeat(32) }, 40104],
        ["signed with another merchant's secret", { secret: B.apiSecret }, 40104],
        ["unknown key", { key: "pk_doesnotexist" }, 40102],
        ["stale timestamp", { timestamp: String(Date.now() - 6 * 60_000) }, 40103],
        ["future timestamp", { timestamp: String(Date.now() + 6 * 60_000) }, 40103],
        ["timestamp in seconds", { timestamp: String(Math.floor(Date.now() / 1000)) }, 40101],
        ["no signature", { omit: ["x-pay-sign"] }, 40101],
        ["no key", { omit: ["x-pay-key"] }, 40101],
      ];
      for (const [name, o, code] of cases) {
        const res = await call(gw, A, "POST", "payment/createPaymentOrder", order(), o);
        assert.equal(res.status, 401, name);
        assert.equal(res.body.code, code, `${name}: ${res.body.msg}`);
        assert.equal(res.body.data, null);
        assert.ok(res.body.msg.length > 10);
      }
      assert.deepEqual(await tableCounts(gw.db), before);

      const nonce = "replayed-nonce-0001";
      const first = await call(gw, A, "GET", "payment/detail", { merchantOrderId: "order-1" }, { nonce });
      assert.equal(first.status, 200);
      const replay = await call(gw, A, "GET", "payment/detail", { merchantOrderId: "order-1" }, { nonce });
      assert.equal(replay.status, 401);
      assert.equal(replay.body.code, 40105);
      // the nonce belongs to the key: another merchant may use the same string
      const otherKey = await call(gw, B, "GET", "payment/detail", { merchantOrderId: "order-1" }, { nonce });
      assert.equal(otherKey.body.code, 40401);
    });

    it("refuses bad input on every route with a code and a message that says what to fix, changing nothing", async () => {
      const before = await tableCounts(gw.db);
      const bad: [string, "GET" | "POST", string, unknown, number, RegExp][] = [
        ["missing amount", "POST", "payment/createPaymentOrder", (({ amount, ...r }) => r)(order()), 40001, /amount/],
        ["mistyped chainId", "POST", "payment/createPaymentOrder", order({ chainId: "31337" }), 40001, /chainId/],
        ["negative amount", "POST", "payment/createPaymentOrder", order({ amount: "-1" }), 40001, /amount/],
        ["numeric amount", "POST", "payment/createPaymentOrder", order({ amount: 12.5 }), 40001, /amount/],
        ["too many decimals", "POST", "payment/createPaymentOrder", order({ amount: "1.0000001" }), 40002, /6 decimals/],
        ["zero amount", "POST", "payment/createPaymentOrder", order({ amount: "0.00" }), 40002, /greater than zero/],
        ["unknown chain", "POST", "payment/createPaymentOrder", order({ chainId: 999 }), 40003, /31337/],
        ["unknown token", "POST", "payment/createPaymentOrder", order({ token: "DOGE" }), 40004, /USDT/],
        ["bad notify URL", "POST", "payment/createPaymentOrder", order({ notifyUrl: "ftp://x.example" }), 40001, /notifyUrl/],
        ["loopback notify URL", "POST", "payment/createPaymentOrder", order({ notifyUrl: "http://127.0.0.1:8080/hook" }), 40010, /notifyUrl.*loopback/],
        ["private notify URL", "POST", "payment/createPaymentOrder", order({ notifyUrl: "https://[fd00::1]/hook" }), 40010, /private/],
        ["localhost notify URL", "POST", "payment/createPaymentOrder", order({ notifyUrl: "http://api.localhost/hook" }), 40010, /loopback/],
        ["metadata notify URL (withdrawal)", "POST", "withdraw/apply", { userId: "1", chainId: 31337, token: "USDT", amount: "1", toAddress: VAULT, merchantWithdrawId: "w-ssrf", notifyUrl: "http://169.254.169.254/latest" }, 40010, /link-local/],
        ["unknown field", "POST", "payment/createPaymentOrder", order({ colour: "red" }), 40001, /additional/],
        ["expiry too short", "POST", "payment/createPaymentOrder", order({ expireSeconds: 5 }), 40001, /expireSeconds/],
        ["merchantOrderId too long", "POST", "payment/createPaymentOrder", order({ merchantOrderId: "x".repeat(65) }), 40001, /merchantOrderId/],
        ["detail without a reference", "GET", "payment/detail", undefined, 40001, /querystring/],
        ["detail with both references", "GET", "payment/detail", { payOrderId: "a", merchantOrderId: "b" }, 40001, /querystring/],
        ["cancel of an unknown order", "POST", "payment/cancel", { payOrderId: "01NOPE" }, 40401, /01NOPE/],
        ["refund without merchantRefundId", "POST", "refund/createRefundOrder", { payOrderId: "x", amount: "1" }, 40001, /merchantRefundId/],
        ["refund with a negative amount", "POST", "refund/createRefundOrder", { merchantRefundId: "r", payOrderId: "x", amount: "-1" }, 40001, /amount/],
        ["refund to a bad address", "POST", "refund/createRefundOrder", { merchantRefundId: "r", payOrderId: "x", amount: "1", toAddress: "0x12" }, 40001, /toAddress/],
        ["refund naming two orders", "POST", "refund/createRefundOrder", { merchantRefundId: "r", payOrderId: "x", merchantOrderId: "y", amount: "1" }, 40001, /exactly one/],
        ["refund of an unknown order", "POST", "refund/createRefundOrder", { merchantRefundId: "r", payOrderId: "nope", amount: "1" }, 40401, /nope/],
        ["refund detail of an unknown refund", "GET", "refund/detail", { refundOrderId: "nope" }, 40403, /nope/],
        ["approve without a signature", "POST", "refund/approve", { refundOrderId: "x" }, 40001, /signature/],
        ["approve with a short signature", "POST", "refund/approve", { refundOrderId: "x", signature: "0x1234" }, 40001, /signature/],
        ["approve of an unknown refund", "POST", "refund/approve", { refundOrderId: "nope", signature: `0x${"ab".repeat(65)}` }, 40403, /nope/],
        ["user without uuid", "POST", "user/create", {}, 40001, /uuid/],
        ["user with a bad uuid", "POST", "user/create", { uuid: "has space" }, 40001, /uuid/],
        ["user detail with a bad userId", "GET", "user/detail", { userId: "-3" }, 40001, /userId/],
        ["unknown user", "GET", "user/detail", { uuid: "nobody" }, 40402, /nobody/],
      ];
      for (const [name, method, path, payload, code, msg] of bad) {
        const res = await call(gw, A, method, path, payload);
        assert.equal(res.body.code, code, `${name}: ${JSON.stringify(res.body)}`);
        assert.equal(res.status, Math.floor(code / 100), name);
        assert.match(res.body.msg, msg, name);
      }
      const notFound = await call(gw, A, "GET", "nothing/here");
      assert.equal(notFound.body.code, 40404);
      assert.deepEqual(await tableCounts(gw.db), before);
    });

    // the issue asks for 500 on the server; PGlite (one in-process connection) runs 200 to stay fast
    const PARALLEL = backend === "postgres" ? 500 : 200;
    it(`${PARALLEL} parallel creates lease ${PARALLEL} distinct addresses`, async () => {
      const results = await Promise.all(
        Array.from({ length: PARALLEL }, (_, i) => call(gw, A, "POST", "payment/createPaymentOrder", order({ merchantOrderId: `par-${i}` }))),
      );
      for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
      const addresses = new Set(results.map((r) => r.body.data.receiptAddress));
      assert.equal(addresses.size, PARALLEL);
      const [open] = await gw.db.query<{ n: string; d: string }>(
        "SELECT count(*)::text AS n, count(DISTINCT receipt_address)::text AS d FROM payment_orders WHERE merchant_id = 1 AND status = 0",
      );
      assert.equal(open!.n, open!.d, "no two open orders share an address");
    });

    it("50 identical parallel creates make one order", async () => {
      const req = order({ merchantOrderId: "same-50" });
      const results = await Promise.all(Array.from({ length: 50 }, () => call(gw, A, "POST", "payment/createPaymentOrder", req)));
      for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(new Set(results.map((r) => r.body.data.payOrderId)).size, 1);
      const rows = await gw.db.query("SELECT id FROM payment_orders WHERE merchant_id = 1 AND merchant_order_id = 'same-50'");
      assert.equal(rows.length, 1);
      const leases = await gw.db.query("SELECT 1 FROM address_pool WHERE order_id = $1", [rows[0]!.id]);
      assert.equal(leases.length, 1);
    });

    it("refunds part or all of a paid order, several times, never more than was paid", async () => {
      const created = (await call(gw, A, "POST", "payment/createPaymentOrder", order())).body.data;
      const refund = (over: Record<string, unknown>) =>
        call(gw, A, "POST", "refund/createRefundOrder", { payOrderId: created.payOrderId, amount: "5", ...over });
      const early = await refund({ merchantRefundId: "r-early", toAddress: VAULT });
      assert.equal(early.body.code, 40902, "an open order cannot be refunded");
      const ref = { payOrderId: created.payOrderId };
      for (const event of [
        { type: "transferSeen", amount: 12_500_000n },
        { type: "transferConfirmed", amount: 12_500_000n },
      ] as const) {
        await applyPaymentEvent(gw.db, { merchantId: 1n, ref, event, poolCooldownSeconds: 60 });
      }
      const noPayer = await refund({ merchantRefundId: "r-0" });
      assert.equal(noPayer.body.code, 40006, noPayer.body.msg);
      const payer = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
      await gw.db.query("UPDATE payment_orders SET payer_address = $2 WHERE id = $1", [created.payOrderId, payer.toLowerCase()]);

      const r1 = await refund({ merchantRefundId: "r-1", amount: "5.00" });
      assert.equal(r1.status, 200, JSON.stringify(r1.body));
      assert.equal(r1.body.data.state, 0);
      assert.equal(r1.body.data.toAddress, payer, "defaults to the payer");
      assert.equal(r1.body.data.amountBaseUnits, "5000000");
      const again = await refund({ merchantRefundId: "r-1", amount: "5" });
      assert.equal(again.body.data.refundOrderId, r1.body.data.refundOrderId, "idempotent");
      assert.equal((await refund({ merchantRefundId: "r-1", amount: "6" })).body.code, 40901);
      const tooMuch = await refund({ merchantRefundId: "r-2", amount: "7.500001" });
      assert.equal(tooMuch.body.code, 40902);
      assert.match(tooMuch.body.msg, /exceeds the refundable 7500000/);
      const r2 = await refund({ merchantRefundId: "r-2", amount: "7.5", toAddress: VAULT });
      assert.equal(r2.status, 200);
      assert.equal(BigInt(r2.body.data.payoutId), BigInt(r1.body.data.payoutId) + 1n, "payout ids are a per-merchant sequence");
      const detail = (await call(gw, A, "GET", "payment/detail", ref)).body.data;
      assert.equal(detail.refundedAmount, "12.5");
      assert.equal(detail.refundableAmount, "0");
      const byId = await call(gw, A, "GET", "refund/detail", { merchantRefundId: "r-2" });
      assert.equal(byId.body.data.refundOrderId, r2.body.data.refundOrderId);
      assert.equal((await call(gw, B, "GET", "refund/detail", { merchantRefundId: "r-2" })).body.code, 40403);
      assert.equal((await call(gw, B, "POST", "refund/createRefundOrder", { ...ref, merchantRefundId: "x", amount: "1" })).body.code, 40401);
      const events = await gw.db.query("SELECT type FROM outbox_events WHERE aggregate_kind = 'refund' AND merchant_id = 1");
      assert.equal(events.length, 2, "one outbox event per refund created");

      // approval: the payout signer signs the EIP-712 data the API hands out
      const typed = (await call(gw, A, "GET", "refund/detail", { merchantRefundId: "r-1" })).body.data.payoutTypedData;
      assert.equal(typed.domain.verifyingContract, VAULT);
      assert.equal(typed.message.payoutId, r1.body.data.payoutId);
      const m = typed.message;
      const toSign = {
        ...typed,
        domain: { ...typed.domain, chainId: Number(typed.domain.chainId) },
        message: { ...m, merchantId: BigInt(m.merchantId), amount: BigInt(m.amount), payoutId: BigInt(m.payoutId), deadline: BigInt(m.deadline) },
      };
      const wrong = await privateKeyToAccount(`0x${"11".repeat(32)}`).signTypedData(toSign);
      const refused = await call(gw, A, "POST", "refund/approve", { merchantRefundId: "r-1", signature: wrong });
      assert.equal(refused.body.code, 40007, refused.body.msg);
      const signature = await privateKeyToAccount(SIGNER_KEY).signTypedData(toSign);
      const approved = await call(gw, A, "POST", "refund/approve", { merchantRefundId: "r-1", signature });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.data.state, 1);
      assert.equal(approved.body.data.payoutTypedData, undefined);
      assert.equal((await call(gw, A, "POST", "refund/approve", { merchantRefundId: "r-1", signature })).body.code, 40902);
      assert.equal((await call(gw, A, "POST", "refund/reject", { merchantRefundId: "r-1" })).body.code, 40902);

      // rejection gives the amount back to the refundable balance
      const rejected = await call(gw, A, "POST", "refund/reject", { refundOrderId: r2.body.data.refundOrderId, reason: "duplicate" });
      assert.equal(rejected.body.data.state, -1);
      assert.equal(rejected.body.data.reason, "duplicate");
      const after = (await call(gw, A, "GET", "payment/detail", ref)).body.data;
      assert.equal(after.refundedAmount, "5");
      assert.equal(after.refundableAmount, "7.5");
      const types = await gw.db.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM outbox_events WHERE aggregate_kind = 'refund' AND merchant_id = 1",
      );
      assert.equal(types[0]!.n, "4", "created x2, approved, rejected");
      const [latest] = await gw.db.query<{ id: string }>(
        "SELECT id FROM outbox_events WHERE aggregate_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
        [r2.body.data.refundOrderId],
      );
      const notify = await call(gw, A, "POST", "refund/notify", { merchantRefundId: "r-2" });
      assert.equal(notify.body.data.eventId, latest!.id, "refund/notify re-queues the latest event under its id");
    });

    it("serves an OpenAPI document with every route, its schemas and every error code", async () => {
      const res = await fetch(`${gw.url}/api/openapi.json`);
      assert.equal(res.status, 200);
      const doc = (await res.json()) as any;
      assert.equal(doc.openapi, "3.1.0");
      const routes = Object.entries(doc.paths).flatMap(([path, ops]: [string, any]) => Object.keys(ops).map((m) => `${m} ${path}`));
      for (const r of [
        "post /api/mer/payment/createPaymentOrder",
        "get /api/mer/payment/detail",
        "post /api/mer/payment/cancel",
        "post /api/mer/payment/notify",
        "post /api/mer/refund/createRefundOrder",
        "get /api/mer/refund/detail",
        "post /api/mer/refund/approve",
        "post /api/mer/refund/reject",
        "post /api/mer/refund/notify",
        "post /api/mer/withdraw/notify",
        "post /api/mer/withdraw/apply",
        "get /api/mer/withdraw/detail",
        "post /api/mer/withdraw/approve",
        "post /api/mer/withdraw/reject",
        "get /api/mer/recharge/list",
        "get /api/mer/recharge/detail",
        "post /api/mer/recharge/notify",
        "post /api/mer/user/create",
        "get /api/mer/user/detail",
      ]) {
        assert.ok(routes.includes(r), r);
      }
      const create = doc.paths["/api/mer/payment/createPaymentOrder"].post;
      assert.ok(create.requestBody.content["application/json"].schema.properties.amount);
      assert.ok(create.responses["4XX"]);
      for (const code of Object.values(ErrorCode)) assert.ok(doc["x-error-codes"][code], `error code ${code} documented`);
    });

    it("user/create gives a fixed recharge address per chain; user/detail shows it in seed 001's shape", async () => {
      const created = await call(gw, A, "POST", "user/create", { uuid: "2313-5f08afe6ca854e4ebf79781f351d0cb7" });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const u = created.body.data;
      assert.deepEqual(Object.keys(u).sort(), ["createTime", "userId", "userType", "userWallet", "uuid"]);
      assert.match(u.createTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      assert.equal(u.userType, 1);
      const expected = depositAddress({ vault: VAULT, merchantId: 1n, kind: DepositKind.Recharge, key: 1n });
      assert.deepEqual(
        u.userWallet.map((w: any) => [w.chainId, w.walletAddress]),
        [
          [137, expected],
          [31337, expected],
        ],
      );
      const again = await call(gw, A, "POST", "user/create", { uuid: u.uuid });
      assert.deepEqual(again.body.data, u);
      const byId = await call(gw, A, "GET", "user/detail", { userId: String(u.userId) });
      assert.deepEqual(byId.body.data, u);
      const second = await call(gw, A, "POST", "user/create", { uuid: "user-two", userType: 2 });
      assert.equal(
        second.body.data.userWallet[0].walletAddress,
        depositAddress({ vault: VAULT, merchantId: 1n, kind: DepositKind.Recharge, key: 2n }),
      );
      const foreign = await call(gw, B, "GET", "user/detail", { uuid: u.uuid });
      assert.equal(foreign.body.code, 40402);
    });

    it("withdrawals: apply (idempotent), approve with the payout signer, reject", async () => {
      await call(gw, A, "POST", "user/create", { uuid: "wd-user" });
      const apply = (over: Record<string, unknown> = {}) =>
        call(gw, A, "POST", "withdraw/apply", {
          merchantWithdrawId: "w-1",
          uuid: "wd-user",
          chainId: 31337,
          token: "USDT",
          amount: "1.5",
          toAddress: VAULT,
          ...over,
        });
      const w1 = await apply();
      assert.equal(w1.status, 200, JSON.stringify(w1.body));
      assert.equal(w1.body.data.state, 0);
      assert.equal(w1.body.data.amountBaseUnits, "1500000");
      assert.equal(w1.body.data.payoutTypedData.message.kind, 1, "withdrawal payout kind");
      const byUserId = await apply({ uuid: undefined, userId: String(w1.body.data.userId) });
      assert.equal(byUserId.body.data.withdrawOrderId, w1.body.data.withdrawOrderId, "same request by userId is the same withdrawal");
      assert.equal((await apply({ amount: "2" })).body.code, 40901);
      assert.equal((await apply({ merchantWithdrawId: "w-x", uuid: "ghost" })).body.code, 40402);
      assert.equal((await apply({ merchantWithdrawId: "w-x", uuid: undefined })).body.code, 40001);
      assert.equal((await apply({ merchantWithdrawId: "w-x", chainId: 5 })).body.code, 40003);
      assert.equal((await apply({ merchantWithdrawId: "w-x", toAddress: "0xnope" })).body.code, 40001);
      assert.equal((await call(gw, B, "GET", "withdraw/detail", { merchantWithdrawId: "w-1" })).body.code, 40405);

      const typed = (await call(gw, A, "GET", "withdraw/detail", { merchantWithdrawId: "w-1" })).body.data.payoutTypedData;
      const m = typed.message;
      const signature = await privateKeyToAccount(SIGNER_KEY).signTypedData({
        ...typed,
        message: { ...m, merchantId: BigInt(m.merchantId), amount: BigInt(m.amount), payoutId: BigInt(m.payoutId), deadline: BigInt(m.deadline) },
      });
      const approved = await call(gw, A, "POST", "withdraw/approve", { merchantWithdrawId: "w-1", signature });
      assert.equal(approved.body.data.state, 1, JSON.stringify(approved.body));
      const w2 = await apply({ merchantWithdrawId: "w-2" });
      assert.equal(BigInt(w2.body.data.payoutId), BigInt(w1.body.data.payoutId) + 1n);
      const wrongSig = await call(gw, A, "POST", "withdraw/approve", { merchantWithdrawId: "w-2", signature });
      assert.equal(wrongSig.body.code, 40007, "a signature over another payout does not approve this one");
      const rejected = await call(gw, A, "POST", "withdraw/reject", { merchantWithdrawId: "w-2", reason: "kyc" });
      assert.equal(rejected.body.data.state, -1);
      const events = await gw.db.query("SELECT 1 FROM outbox_events WHERE aggregate_kind = 'withdrawal' AND merchant_id = 1");
      assert.equal(events.length, 4, "applied x2, approved, rejected");
      const notify = await call(gw, A, "POST", "withdraw/notify", { withdrawOrderId: w2.body.data.withdrawOrderId });
      const [ev] = await gw.db.query("SELECT aggregate_id, delivered_at FROM outbox_events WHERE id = $1", [notify.body.data.eventId]);
      assert.equal(ev!.aggregate_id, w2.body.data.withdrawOrderId);
      assert.equal((await call(gw, B, "POST", "withdraw/notify", { merchantWithdrawId: "w-2" })).body.code, 40405);
    });

    it("recharge/list pages newest first with filters; detail and notify; other merchants see nothing", async () => {
      const user = (await call(gw, A, "POST", "user/create", { uuid: "rc-user" })).body.data;
      const wallet = user.userWallet.find((w: any) => w.chainId === 31337).walletAddress.toLowerCase();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const id = newId(Date.now() + i);
        ids.push(id);
        await gw.db.query(
          `INSERT INTO recharge_orders (id, merchant_id, user_id, chain_id, token_address, amount, status, from_address,
             to_address, tx_hash, log_index, block_number, block_hash)
           VALUES ($1, 1, $2, 31337, $3, $4, $5, $6, $7, $8, 0, $9, $10)`,
          [id, user.userId, USDT.toLowerCase(), 1_000_000 * (i + 1), i % 2 ? 4 : 2, VAULT.toLowerCase(), wallet, `0x${String(i).padStart(64, "0")}`, 100 + i, `0x${"b".repeat(64)}`],
        );
      }
      const p1 = await call(gw, A, "GET", "recharge/list", { limit: "2" });
      assert.equal(p1.status, 200, JSON.stringify(p1.body));
      assert.deepEqual(p1.body.data.list.map((r: any) => r.rechargeOrderId), [ids[4], ids[3]]);
      assert.equal(p1.body.data.list[0].amount, "5");
      assert.equal(p1.body.data.list[0].uuid, "rc-user");
      const p2 = await call(gw, A, "GET", "recharge/list", { limit: "2", cursor: p1.body.data.nextCursor });
      assert.deepEqual(p2.body.data.list.map((r: any) => r.rechargeOrderId), [ids[2], ids[1]]);
      const p3 = await call(gw, A, "GET", "recharge/list", { limit: "2", cursor: p2.body.data.nextCursor });
      assert.deepEqual(p3.body.data.list.map((r: any) => r.rechargeOrderId), [ids[0]]);
      assert.equal(p3.body.data.nextCursor, null);
      const done = await call(gw, A, "GET", "recharge/list", { state: "4", uuid: "rc-user" });
      assert.deepEqual(done.body.data.list.map((r: any) => r.rechargeOrderId), [ids[3], ids[1]]);
      assert.equal((await call(gw, A, "GET", "recharge/list", { limit: "0" })).body.code, 40001);
      assert.equal((await call(gw, A, "GET", "recharge/list", { state: "9" })).body.code, 40001);
      const detail = await call(gw, A, "GET", "recharge/detail", { rechargeOrderId: ids[2]! });
      assert.equal(detail.body.data.toAddress, user.userWallet[0].walletAddress);
      assert.equal((await call(gw, B, "GET", "recharge/detail", { rechargeOrderId: ids[2]! })).body.code, 40406);
      assert.deepEqual((await call(gw, B, "GET", "recharge/list", {})).body.data, { list: [], nextCursor: null });
      const notify = await call(gw, A, "POST", "recharge/notify", { rechargeOrderId: ids[2] });
      const [e] = await gw.db.query("SELECT type FROM outbox_events WHERE id = $1", [notify.body.data.eventId]);
      assert.equal(e!.type, "recharge.snapshot");
    });

    it("parallel refunds never exceed what was paid; parallel user creates make one user", async () => {
      const created = (await call(gw, A, "POST", "payment/createPaymentOrder", order({ amount: "12.5" }))).body.data;
      const ref = { payOrderId: created.payOrderId };
      for (const event of [
        { type: "transferSeen", amount: 12_500_000n },
        { type: "transferConfirmed", amount: 12_500_000n },
      ] as const) {
        await applyPaymentEvent(gw.db, { merchantId: 1n, ref, event, poolCooldownSeconds: 60 });
      }
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          call(gw, A, "POST", "refund/createRefundOrder", { ...ref, merchantRefundId: `par-r-${i}`, amount: "1", toAddress: VAULT }),
        ),
      );
      const ok = results.filter((r) => r.status === 200);
      assert.equal(ok.length, 12, "12 refunds of 1 fit in 12.5");
      for (const r of results.filter((r) => r.status !== 200)) assert.equal(r.body.code, 40902);
      assert.equal(new Set(ok.map((r) => r.body.data.payoutId)).size, 12, "distinct payout ids");
      const [row] = await gw.db.query("SELECT refunded_amount, paid_amount FROM payment_orders WHERE id = $1", [created.payOrderId]);
      assert.equal(row!.refunded_amount, "12000000");
      const [sum] = await gw.db.query("SELECT sum(amount)::text AS s FROM refund_orders WHERE pay_order_id = $1", [created.payOrderId]);
      assert.equal(sum!.s, "12000000", "paid = refunded + refundable holds in the rows");

      const users = await Promise.all(Array.from({ length: 30 }, () => call(gw, A, "POST", "user/create", { uuid: "par-user" })));
      for (const u of users) assert.equal(u.status, 200, JSON.stringify(u.body));
      assert.equal(new Set(users.map((u) => u.body.data.userId)).size, 1);
      const [n] = await gw.db.query("SELECT count(*)::text AS n FROM users WHERE merchant_id = 1 AND uuid = 'par-user'");
      assert.equal(n!.n, "1");
    });
  });
}
