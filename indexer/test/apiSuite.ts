import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import { DepositKind, depositAddress } from "../src/domain/depositAddress.js";
import { newId } from "../src/domain/ids.js";
import { createPaymentExpiryJob } from "../src/jobs/expirePaymentOrders.js";
import { applyPaymentEvent } from "../src/store/paymentOrders.js";
import { ErrorCode } from "../src/wire/errors.js";
import { SIGNER_KEY, USDT, VAULT, call, startGateway, tableCounts, type Backend, type TestGateway } from "./helpers.js";

const PAYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const FOURTH = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

/** Signs each line's payoutTypedData as a wallet would (integers back to bigint). */
export async function signLines(key: `0x${string}`, lines: { payoutTypedData: any }[]): Promise<string[]> {
  const account = privateKeyToAccount(key);
  return Promise.all(
    lines.map(({ payoutTypedData: t }) =>
      account.signTypedData({
        ...t,
        domain: { ...t.domain, chainId: Number(t.domain.chainId) },
        message: {
          ...t.message,
          merchantId: BigInt(t.message.merchantId),
          amount: BigInt(t.message.amount),
          payoutId: BigInt(t.message.payoutId),
          deadline: BigInt(t.message.deadline),
        },
      }),
    ),
  );
}

/** The merchant API suite, run over real HTTP against one backend. */
export function apiSuite(backend: Backend) {
  describe(`merchant API over HTTP (${backend})`, () => {
    let gw: TestGateway;
    let A: TestGateway["merchants"][number];
    let B: TestGateway["merchants"][number];
    let seq = 0;
    const order = (over: Record<string, unknown> = {}) => ({
      chainId: 31337,
      description: "two books",
      outTradeNo: `order-${++seq}`,
      isLegalTender: 0,
      quoteCurrencySymbol: "USDT",
      quoteAmount: "12.50",
      notifyUrl: "https://shop.example.test/notify",
      redirectionUrl: "https://shop.example.test/done",
      ...over,
    });
    const pay = async (outTradeNo: string, units: bigint) => {
      for (const event of [
        { type: "transferSeen", amount: units },
        { type: "transferConfirmed", amount: units },
      ] as const) {
        await applyPaymentEvent(gw.db, { merchantId: 1n, ref: { merchantOrderId: outTradeNo }, event, poolCooldownSeconds: 60 });
      }
    };

    before(async () => {
      gw = await startGateway(backend);
      [A, B] = gw.merchants as [typeof A, typeof B];
    });
    after(async () => {
      await gw?.close();
    });

    it("createPaymentOrder leases a deposit address and answers outPaymentNo, paymentUrl, userWalletAddress, saltHash", async () => {
      const req = order();
      const res = await call(gw, A, "POST", "payment/createPaymentOrder", req);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.code, 200);
      assert.equal(res.body.msg, "success");
      const d = res.body.data;
      assert.match(d.outPaymentNo, /^[0-9A-HJKMNP-TV-Z]{26}$/);
      assert.equal(d.userWalletAddress, depositAddress({ vault: VAULT, merchantId: 1n, kind: DepositKind.Payment, key: 0n }));
      assert.equal(d.saltHash, `0x${((1n << 192n) | (1n << 184n)).toString(16).padStart(64, "0")}`, "merchant 1, kind 1, pool key 0");
      assert.equal(d.expectedAmount, "12500000");
      assert.equal(d.paymentStatus, 1);
      assert.equal(d.state, 0);
      // paymentUrl is a path and query (the integrator prefixes the payment host); paymentLink the whole URL
      const link = new URL(d.paymentLink);
      assert.equal(link.origin + link.pathname, "https://pay.example.test/pay");
      assert.equal(d.paymentUrl, link.pathname + link.search);
      assert.deepEqual([...link.searchParams.keys()], ["accessSign", "merchantOrderId", "payOrderId", "chainCode"]);
      assert.equal(link.searchParams.get("merchantOrderId"), req.outTradeNo);
      assert.equal(link.searchParams.get("payOrderId"), d.outPaymentNo);

      const detail = await call(gw, A, "GET", "payment/detail", { outTradeNo: req.outTradeNo });
      assert.equal(detail.status, 200);
      const p = detail.body.data;
      assert.equal(p.outPaymentNo, d.outPaymentNo);
      assert.equal(p.quoteAmount, "12.50", "the quote as sent");
      assert.equal(p.quoteCurrencySymbol, "USDT");
      assert.equal(p.description, "two books");
      assert.equal(p.orgId, 1);
      assert.equal(p.chainId, 31337);
      assert.equal(p.userWalletAddress, d.userWalletAddress);
      assert.equal(p.refundableAmount, "0");
      const both = await call(gw, A, "GET", "payment/detail", { outTradeNo: req.outTradeNo, outPaymentNo: d.outPaymentNo });
      assert.deepEqual(both.body.data, p);
      const mismatch = await call(gw, A, "GET", "payment/detail", { outTradeNo: req.outTradeNo, outPaymentNo: "01NOTTHISONE" });
      assert.equal(mismatch.body.code, 40401);
    });

    it("a repeated create answers the same order (also for an equal decimal or a numeric chainId); other parameters are a conflict", async () => {
      const req = order({ quoteCurrencySymbol: "ETH", quoteAmount: "0.000000000000000001" });
      const first = await call(gw, A, "POST", "payment/createPaymentOrder", req);
      const again = await call(gw, A, "POST", "payment/createPaymentOrder", { ...req, chainId: "31337" });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.data.outPaymentNo, first.body.data.outPaymentNo);
      assert.equal(again.body.data.expectedAmount, "1");
      const before = await tableCounts(gw.db);
      const changed = await call(gw, A, "POST", "payment/createPaymentOrder", { ...req, quoteAmount: "2" });
      assert.equal(changed.status, 409);
      assert.equal(changed.body.code, 40901);
      assert.match(changed.body.msg, /outTradeNo/);
      assert.deepEqual(await tableCounts(gw.db), before);
    });

    it("cancel closes an unpaid order (paymentStatus 4), writes its event and rests the address", async () => {
      const req = order();
      const created = (await call(gw, A, "POST", "payment/createPaymentOrder", req)).body.data;
      const res = await call(gw, A, "POST", "payment/cancel", { outTradeNo: req.outTradeNo });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.data.state, -3);
      assert.equal(res.body.data.paymentStatus, 4);
      const events = await gw.db.query("SELECT type, payload FROM outbox_events WHERE aggregate_id = $1", [created.outPaymentNo]);
      assert.equal(events.length, 1);
      assert.equal(events[0]!.payload.data.status, -3);
      const [pool] = await gw.db.query(
        "SELECT order_id, available_at > now() AS resting FROM address_pool WHERE chain_id = 31337 AND address = $1",
        [created.userWalletAddress.toLowerCase()],
      );
      assert.equal(pool!.order_id, null);
      assert.equal(pool!.resting, true);
      // signed again (another second: an identical body in the same second is the same signed request)
      const twice = await call(
        gw,
        A,
        "POST",
        "payment/cancel",
        { outTradeNo: req.outTradeNo },
        { timestamp: String(Math.floor(Date.now() / 1000) + 1) },
      );
      assert.equal(twice.status, 409);
      assert.equal(twice.body.code, 40902);
    });

    it("expiry moves unpaid orders to paymentStatus 4; payment/notify answers without data and queues the latest event again", async () => {
      const req = order({ expireSeconds: 60 });
      const created = (await call(gw, A, "POST", "payment/createPaymentOrder", req)).body.data;
      const job = createPaymentExpiryJob({ db: gw.db, poolCooldownSeconds: 600 });
      await gw.db.query("UPDATE payment_orders SET expires_at = now() - interval '1 second' WHERE id = $1", [created.outPaymentNo]);
      assert.ok((await job.runOnce()) >= 1);
      const detail = await call(gw, A, "GET", "payment/detail", { outTradeNo: req.outTradeNo });
      assert.equal(detail.body.data.state, -2);
      assert.equal(detail.body.data.paymentStatus, 4);
      const [event] = await gw.db.query<{ id: string }>("SELECT id FROM outbox_events WHERE aggregate_id = $1", [created.outPaymentNo]);
      await gw.db.query("UPDATE outbox_events SET delivered_at = now() WHERE id = $1", [event!.id]);
      const notify = await call(gw, A, "GET", "payment/notify", { outTradeNo: req.outTradeNo });
      assert.equal(notify.status, 200);
      assert.deepEqual(notify.body, { code: 200, msg: "success" });
      const [queued] = await gw.db.query("SELECT delivered_at, forced FROM outbox_events WHERE id = $1", [event!.id]);
      assert.equal(queued!.delivered_at, null, "the same event, due again");
      assert.equal(queued!.forced, true);
      // an order that never changed state gets a snapshot event; the POST form works too
      const fresh = order();
      await call(gw, A, "POST", "payment/createPaymentOrder", fresh);
      assert.equal((await call(gw, A, "POST", "payment/notify", { outTradeNo: fresh.outTradeNo })).status, 200);
      const [snap] = await gw.db.query(
        "SELECT o.type FROM outbox_events o JOIN payment_orders p ON p.id = o.aggregate_id WHERE p.merchant_order_id = $1",
        [fresh.outTradeNo],
      );
      assert.equal(snap!.type, "payment.snapshot");
    });

    it("one merchant can never see or touch another's orders", async () => {
      const req = order();
      const created = (await call(gw, A, "POST", "payment/createPaymentOrder", req)).body.data;
      const seen = await call(gw, B, "GET", "payment/detail", { outTradeNo: req.outTradeNo });
      assert.equal(seen.status, 404);
      assert.equal(seen.body.code, 40401);
      assert.equal((await call(gw, B, "POST", "payment/cancel", { outTradeNo: req.outTradeNo })).status, 404);
      assert.equal((await call(gw, B, "GET", "payment/list", {})).body.data.count, 0);
      // the same outTradeNo is free for another merchant
      const other = await call(gw, B, "POST", "payment/createPaymentOrder", req);
      assert.equal(other.status, 200);
      assert.notEqual(other.body.data.outPaymentNo, created.outPaymentNo);
      assert.equal(other.body.data.userWalletAddress, depositAddress({ vault: VAULT, merchantId: 2n, kind: 1, key: 0n }));
    });

    it("refuses bad signatures, stale or millisecond timestamps, other queries, replayed writes and unknown keys, changing nothing", async () => {
      const before = await tableCounts(gw.db);
      const now = Math.floor(Date.now() / 1000);
      const cases: [string, Parameters<typeof call>[5], number][] = [
        ["wrong signature", { sign: Buffer.alloc(32, 7).toString("base64") }, 40104],
        ["hex signature (another scheme)", { sign: "ab".repeat(32) }, 40104],
        ["signed with another merchant's secret", { secret: B.apiSecret }, 40104],
        ["unknown key", { key: "pk_doesnotexist" }, 40102],
        ["stale timestamp", { timestamp: String(now - 120) }, 40103],
        ["future timestamp", { timestamp: String(now + 120) }, 40103],
        ["timestamp in milliseconds", { timestamp: String(Date.now()) }, 40101],
        ["no signature", { omit: ["x-pay-sign"] }, 40101],
        ["no key", { omit: ["x-pay-key"] }, 40101],
        ["no timestamp", { omit: ["x-pay-timestamp"] }, 40101],
      ];
      for (const [name, o, code] of cases) {
        const res = await call(gw, A, "POST", "payment/createPaymentOrder", order(), o);
        assert.equal(res.status, 401, name);
        assert.equal(res.body.code, code, `${name}: ${res.body.msg}`);
        assert.equal(res.body.data, null);
        assert.ok(res.body.msg.length > 10);
      }
      // a signature over another query does not read this one
      const t = String(now);
      const { paySignature } = await import("../src/crypto/signing.js");
      const other = paySignature(A.apiSecret, {
        timestamp: t,
        method: "GET",
        requestPath: "/api/mer/payment/detail?outTradeNo=order-1",
        body: "",
      });
      const forged = await call(gw, A, "GET", "payment/detail", { outTradeNo: "order-2" }, { timestamp: t, sign: other });
      assert.equal(forged.body.code, 40104);
      assert.deepEqual(await tableCounts(gw.db), before);

      // reads repeat; a write without an idempotency key is accepted once per signature
      const sameRead = { timestamp: t };
      assert.equal((await call(gw, A, "GET", "payment/detail", { outTradeNo: "order-1" }, sameRead)).status, 200);
      assert.equal((await call(gw, A, "GET", "payment/detail", { outTradeNo: "order-1" }, sameRead)).status, 200);
      const write = { rawBody: JSON.stringify({ name: "Shop A" }), timestamp: t };
      assert.equal((await call(gw, A, "POST", "merchant/settings/update", undefined, write)).status, 200);
      const replay = await call(gw, A, "POST", "merchant/settings/update", undefined, write);
      assert.equal(replay.status, 401);
      assert.equal(replay.body.code, 40105);
      // a refused write is forgotten: the same signed request can be sent again once it can succeed
      const cancelBody = { rawBody: JSON.stringify({ outTradeNo: "nope-yet" }), timestamp: t };
      assert.equal((await call(gw, A, "POST", "payment/cancel", undefined, cancelBody)).body.code, 40401);
      assert.equal(
        (await call(gw, A, "POST", "payment/cancel", undefined, cancelBody)).body.code,
        40401,
        "not 40105: the failed write was not remembered",
      );
    });

    it("refuses bad input on every route with a code and a message that names the field, changing nothing and never answering 5xx", async () => {
      const before = await tableCounts(gw.db);
      const bad: [string, "GET" | "POST", string, unknown, number, RegExp][] = [
        [
          "missing quoteAmount",
          "POST",
          "payment/createPaymentOrder",
          (({ quoteAmount: _dropped, ...r }) => r)(order()),
          40001,
          /quoteAmount/,
        ],
        ["non-numeric chainId", "POST", "payment/createPaymentOrder", order({ chainId: "eth" }), 40001, /chainId/],
        ["negative amount", "POST", "payment/createPaymentOrder", order({ quoteAmount: "-1" }), 40002, /quoteAmount/],
        ["exponent amount", "POST", "payment/createPaymentOrder", order({ quoteAmount: 1e-7 }), 40002, /quoteAmount/],
        [
          "too many decimals",
          "POST",
          "payment/createPaymentOrder",
          order({ quoteAmount: "1.0000001" }),
          40002,
          /quoteAmount "1.0000001" has 7 decimals; USDT has 6/,
        ],
        ["zero amount", "POST", "payment/createPaymentOrder", order({ quoteAmount: "0.00" }), 40002, /greater than zero/],
        ["unknown chain", "POST", "payment/createPaymentOrder", order({ chainId: 999 }), 40003, /31337/],
        ["unknown currency", "POST", "payment/createPaymentOrder", order({ quoteCurrencySymbol: "DOGE" }), 40004, /USDT/],
        ["fiat quote", "POST", "payment/createPaymentOrder", order({ isLegalTender: 1, quoteCurrencySymbol: "USD" }), 40012, /fiat/],
        ["bad notify URL", "POST", "payment/createPaymentOrder", order({ notifyUrl: "ftp://x.example" }), 40001, /notifyUrl/],
        [
          "loopback notify URL",
          "POST",
          "payment/createPaymentOrder",
          order({ notifyUrl: "http://127.0.0.1:8080/hook" }),
          40010,
          /notifyUrl.*loopback/,
        ],
        ["private notify URL", "POST", "payment/createPaymentOrder", order({ notifyUrl: "https://[fd00::1]/hook" }), 40010, /private/],
        ["unknown field", "POST", "payment/createPaymentOrder", order({ colour: "red" }), 40001, /unknown field "colour"/],
        [
          "NUL byte in a body string",
          "POST",
          "payment/createPaymentOrder",
          order({ description: "a\u0000b" }),
          40001,
          /body\/description holds a NUL byte/,
        ],
        ["NUL byte in a query", "GET", "payment/detail", { outTradeNo: "a\u0000b" }, 40001, /querystring\/outTradeNo holds a NUL byte/],
        ["outTradeNo with a space", "POST", "payment/createPaymentOrder", order({ outTradeNo: "has space" }), 40001, /outTradeNo/],
        ["outTradeNo too long", "POST", "payment/createPaymentOrder", order({ outTradeNo: "x".repeat(129) }), 40001, /outTradeNo/],
        ["expiry too short", "POST", "payment/createPaymentOrder", order({ expireSeconds: 5 }), 40001, /expireSeconds/],
        ["detail without a reference", "GET", "payment/detail", undefined, 40001, /outTradeNo/],
        ["list with size 501", "GET", "payment/list", { size: "501" }, 40001, /size/],
        ["list with an unknown status", "GET", "payment/list", { orderStatus: "7" }, 40001, /orderStatus/],
        ["cancel of an unknown order", "POST", "payment/cancel", { outTradeNo: "01NOPE" }, 40401, /01NOPE/],
        ["refund without a payment", "POST", "refund/createRefundOrder", { refundAmount: "1" }, 40001, /outTradeNo/],
        [
          "refund with a negative amount",
          "POST",
          "refund/createRefundOrder",
          { outTradeNo: "order-1", refundAmount: "-1" },
          40002,
          /refundAmount/,
        ],
        [
          "refund to a bad address",
          "POST",
          "refund/createRefundOrder",
          { outTradeNo: "order-1", refundAddress: "0x12" },
          40001,
          /refundAddress/,
        ],
        [
          "refund to a bad checksum",
          "POST",
          "refund/createRefundOrder",
          { outTradeNo: "order-1", refundAddress: PAYER.replace("c", "C") },
          40001,
          /checksum/,
        ],
        ["refund of an unknown order", "POST", "refund/createRefundOrder", { outTradeNo: "nope", refundAmount: "1" }, 40401, /nope/],
        ["refund detail of an unknown refund", "GET", "refund/detail", { refundId: "999999" }, 40403, /999999/],
        ["approve without a signature", "POST", "refund/approve", { refundId: 1 }, 40001, /signature/],
        ["approve with a short signature", "POST", "refund/approve", { refundId: 1, signature: "0x1234" }, 40001, /signature/],
        [
          "approve of an unknown refund",
          "POST",
          "refund/approve",
          { refundId: 999999, signature: `0x${"ab".repeat(65)}` },
          40403,
          /999999/,
        ],
        [
          "withdrawal to the zero address",
          "POST",
          "withdraw/apply",
          { chainId: 31337, currencyId: 2, withdrawAddress: `0x${"0".repeat(40)}`, withdrawAmount: "1" },
          40011,
          /zero address/,
        ],
        [
          "withdrawal to the vault",
          "POST",
          "withdraw/apply",
          { chainId: 31337, currencyId: 2, withdrawAddress: VAULT, withdrawAmount: "1" },
          40011,
          /vault/,
        ],
        [
          "withdrawal pairs 2 addresses with 1 amount",
          "POST",
          "withdraw/apply",
          { chainId: 31337, currencyId: 2, withdrawAddress: `${PAYER},${OTHER}`, withdrawAmount: "1" },
          40001,
          /2 address\(es\) and withdrawAmount 1 amount/,
        ],
        [
          "withdrawal amount with too many decimals",
          "POST",
          "withdraw/apply",
          { chainId: 31337, currencyId: 2, withdrawAddress: `${PAYER},${OTHER}`, withdrawAmount: "1,0.0000001" },
          40002,
          /withdrawAmount\[2\] "0.0000001" has 7 decimals; USDT has 6/,
        ],
        [
          "withdrawal in a currency of another chain",
          "POST",
          "withdraw/apply",
          { chainId: 137, currencyId: 2, withdrawAddress: PAYER, withdrawAmount: "1" },
          40004,
          /currencyId 2 is not accepted on chain 137/,
        ],
        [
          "withdrawal with a blank outTradeNo",
          "POST",
          "withdraw/apply",
          { chainId: 31337, currencyId: 2, withdrawAddress: PAYER, withdrawAmount: "1", outTradeNo: "  " },
          40001,
          /outTradeNo/,
        ],
        [
          "metadata notify URL (withdrawal)",
          "POST",
          "withdraw/apply",
          { chainId: 31337, currencyId: 2, withdrawAddress: PAYER, withdrawAmount: "1", notifyUrl: "http://169.254.169.254/latest" },
          40010,
          /link-local/,
        ],
        [
          "settlement to the zero address",
          "POST",
          "settlement/apply",
          { chainId: 31337, currencyId: 2, settlementAddress: `0x${"0".repeat(40)}`, settlementAmount: "1" },
          40011,
          /zero address/,
        ],
        ["user without uuid", "POST", "user/create", {}, 40001, /uuid/],
        ["user with a bad uuid", "POST", "user/create", { uuid: "has space" }, 40001, /uuid/],
        ["user detail with a bad userId", "GET", "user/detail", { userId: "-3" }, 40001, /userId/],
        ["unknown user", "GET", "user/detail", { UUID: "nobody" }, 40402, /nobody/],
        ["recharge detail without an id", "GET", "recharge/detail", {}, 40001, /rechargeId/],
        ["currencies of an unknown chain", "GET", "conf/list/currency", { chainId: "5" }, 40003, /31337/],
      ];
      for (const [name, method, path, payload, code, msg] of bad) {
        const res = await call(gw, A, method, path, payload);
        assert.equal(res.body.code, code, `${name}: ${JSON.stringify(res.body)}`);
        assert.equal(res.status, Math.floor(code / 100), name);
        assert.match(res.body.msg, msg, name);
      }
      // a POST without application/json says so (not "signature does not match")
      for (const contentType of ["text/plain", null]) {
        const res = await call(gw, A, "POST", "payment/createPaymentOrder", order(), { contentType });
        assert.equal(res.status, 415, String(contentType));
        assert.equal(res.body.code, 41501);
        assert.match(res.body.msg, /Content-Type: application\/json/);
      }
      const invalidJson = await call(gw, A, "POST", "payment/createPaymentOrder", undefined, { rawBody: "{not json" });
      assert.equal(invalidJson.body.code, 40005);
      // a malformed URL answers in the envelope
      const malformed = await fetch(`${gw.url}/api/mer/payment/%E0%A4%A/detail`);
      assert.equal(malformed.status, 400);
      const m = (await malformed.json()) as { code: number; msg: string; data: null };
      assert.equal(m.code, 40001);
      assert.equal(m.data, null);
      const notFound = await call(gw, A, "GET", "nothing/here");
      assert.equal(notFound.body.code, 40404);
      assert.deepEqual(await tableCounts(gw.db), before);
    });

    // the issue asks for 500 on the server; PGlite (one in-process connection) runs 200 to stay fast
    const PARALLEL = backend === "postgres" ? 500 : 200;
    it(`${PARALLEL} parallel creates lease ${PARALLEL} distinct addresses`, async () => {
      const results = await Promise.all(
        Array.from({ length: PARALLEL }, (_, i) => call(gw, A, "POST", "payment/createPaymentOrder", order({ outTradeNo: `par-${i}` }))),
      );
      for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(new Set(results.map((r) => r.body.data.userWalletAddress)).size, PARALLEL);
      const [open] = await gw.db.query<{ n: string; d: string }>(
        "SELECT count(*)::text AS n, count(DISTINCT receipt_address)::text AS d FROM payment_orders WHERE merchant_id = 1 AND status = 0",
      );
      assert.equal(open!.n, open!.d, "no two open orders share an address");
    });

    it("50 identical parallel creates (the same signed request) make one order", async () => {
      const req = order({ outTradeNo: "same-50" });
      const t = String(Math.floor(Date.now() / 1000));
      const results = await Promise.all(
        Array.from({ length: 50 }, () => call(gw, A, "POST", "payment/createPaymentOrder", req, { timestamp: t })),
      );
      for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(new Set(results.map((r) => r.body.data.outPaymentNo)).size, 1);
      const rows = await gw.db.query("SELECT id FROM payment_orders WHERE merchant_id = 1 AND merchant_order_id = 'same-50'");
      assert.equal(rows.length, 1);
      assert.equal((await gw.db.query("SELECT 1 FROM address_pool WHERE order_id = $1", [rows[0]!.id])).length, 1);
    });

    it("payment/list pages newest first and filters by paymentStatus, chain, hash and time", async () => {
      const a = order();
      const b = order();
      await call(gw, A, "POST", "payment/createPaymentOrder", a);
      await call(gw, A, "POST", "payment/createPaymentOrder", b);
      await pay(b.outTradeNo, 12_500_000n);
      const page = await call(gw, A, "GET", "payment/list", { page: "1", size: "2" });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.equal(page.body.data.page, 1);
      assert.equal(page.body.data.size, 2);
      assert.ok(page.body.data.count >= 2);
      assert.deepEqual(
        page.body.data.list.map((p: any) => p.outTradeNo),
        [b.outTradeNo, a.outTradeNo],
      );
      const paid = await call(gw, A, "GET", "payment/list", { orderStatus: "0" });
      assert.ok(paid.body.data.list.every((p: any) => p.paymentStatus === 0));
      assert.ok(paid.body.data.list.some((p: any) => p.outTradeNo === b.outTradeNo));
      const pending = await call(gw, A, "GET", "payment/list", { status: "1", size: "500" });
      assert.ok(pending.body.data.list.some((p: any) => p.outTradeNo === a.outTradeNo));
      assert.ok(!pending.body.data.list.some((p: any) => p.outTradeNo === b.outTradeNo));
      assert.equal((await call(gw, A, "GET", "payment/list", { chainId: "137" })).body.data.count, 0);
      const future = Math.floor(Date.now() / 1000) + 3600;
      assert.equal((await call(gw, A, "GET", "payment/list", { startTime: String(future) })).body.data.count, 0);
      assert.equal((await call(gw, A, "GET", "payment/list", { transactionHash: `0x${"9".repeat(64)}` })).body.data.count, 0);
    });

    it("refunds part or all of a paid order, several times, never more than was paid; approve and reject", async () => {
      const req = order();
      await call(gw, A, "POST", "payment/createPaymentOrder", req);
      const refund = (over: Record<string, unknown>) =>
        call(gw, A, "POST", "refund/createRefundOrder", { outTradeNo: req.outTradeNo, ...over });
      assert.equal((await refund({ refundAmount: "5", refundAddress: PAYER })).body.code, 40902, "an open order cannot be refunded");
      await pay(req.outTradeNo, 12_500_000n);
      assert.equal((await refund({ refundAmount: "1" })).body.code, 40006, "no payer known and no refundAddress");
      await gw.db.query("UPDATE payment_orders SET payer_address = $2 WHERE merchant_order_id = $1", [req.outTradeNo, PAYER.toLowerCase()]);

      const r1 = await refund({ refundAmount: "5.00", outRefundNo: "r-1" });
      assert.equal(r1.status, 200, JSON.stringify(r1.body));
      assert.deepEqual(Object.keys(r1.body.data), ["refundId"]);
      const d1 = (await call(gw, A, "GET", "refund/detail", { refundId: String(r1.body.data.refundId) })).body.data;
      assert.equal(d1.refundStatus, 1, "pending approval");
      assert.equal(d1.refundAddress, PAYER, "defaults to the payer");
      assert.equal(d1.refundAmount, "5000000");
      assert.equal(d1.outTradeNo, req.outTradeNo);
      assert.equal(d1.refundFee, "0");
      assert.equal(
        (await refund({ refundAmount: "5", outRefundNo: "r-1" })).body.data.refundId,
        r1.body.data.refundId,
        "idempotent by outRefundNo",
      );
      assert.equal((await refund({ refundAmount: "6", outRefundNo: "r-1" })).body.code, 40901);
      const tooMuch = await refund({ refundAmount: "7.500001" });
      assert.equal(tooMuch.body.code, 40902);
      assert.match(tooMuch.body.msg, /exceeds the refundable 7500000/);
      assert.equal((await refund({ refundAddress: VAULT })).body.code, 40011, "never to the vault");
      const created = (await call(gw, A, "GET", "payment/detail", { outTradeNo: req.outTradeNo })).body.data;
      assert.equal((await refund({ refundAddress: created.userWalletAddress })).body.code, 40011, "never to a deposit address");
      const r2 = await refund({ refundAddress: OTHER }); // no amount: everything still refundable
      assert.equal(r2.status, 200, JSON.stringify(r2.body));
      const d2 = (await call(gw, A, "GET", "refund/detail", { refundId: String(r2.body.data.refundId) })).body.data;
      assert.equal(d2.refundAmount, "7500000");
      assert.equal(BigInt(d2.lines[0].payoutId), BigInt(d1.lines[0].payoutId) + 1n, "payout ids are a per-merchant sequence");
      const detail = (await call(gw, A, "GET", "payment/detail", { outTradeNo: req.outTradeNo })).body.data;
      assert.equal(detail.refundedAmount, "12500000");
      assert.equal(detail.refundableAmount, "0");
      // refund/detail by the payment's outTradeNo alone: its latest refund
      assert.equal((await call(gw, A, "GET", "refund/detail", { outTradeNo: req.outTradeNo })).body.data.refundId, r2.body.data.refundId);
      assert.equal((await call(gw, B, "GET", "refund/detail", { refundId: String(r2.body.data.refundId) })).body.code, 40403);
      assert.equal(
        (await call(gw, B, "POST", "refund/createRefundOrder", { outTradeNo: req.outTradeNo, refundAmount: "1" })).body.code,
        40401,
      );
      const list = await call(gw, A, "GET", "refund/list", { orderStatus: "1" });
      assert.ok(list.body.data.list.some((r: any) => r.refundId === r1.body.data.refundId));

      const [sig] = await signLines(`0x${"11".repeat(32)}`, d1.lines);
      const refused = await call(gw, A, "POST", "refund/approve", { refundId: r1.body.data.refundId, signature: sig });
      assert.equal(refused.body.code, 40007, refused.body.msg);
      const [signature] = await signLines(SIGNER_KEY, d1.lines);
      const approved = await call(gw, A, "POST", "refund/approve", { refundId: String(r1.body.data.refundId), signature });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.data.state, 1);
      assert.equal(approved.body.data.refundStatus, 2, "approved: under review until it is sent");
      assert.equal(approved.body.data.approvedBy, "merchant");
      assert.equal(approved.body.data.lines[0].payoutTypedData, undefined);
      const rejected = await call(gw, A, "POST", "refund/reject", { refundId: r2.body.data.refundId, reason: "duplicate" });
      assert.equal(rejected.body.data.refundStatus, 5);
      assert.equal(rejected.body.data.reason, "duplicate");
      const afterReject = (await call(gw, A, "GET", "payment/detail", { outTradeNo: req.outTradeNo })).body.data;
      assert.equal(afterReject.refundedAmount, "5000000");
      assert.equal(afterReject.refundableAmount, "7500000");
      const events = await gw.db.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM outbox_events WHERE aggregate_kind = 'refund' AND merchant_id = 1 AND aggregate_id = ANY($1)",
        [[String(r1.body.data.refundId), String(r2.body.data.refundId)]],
      );
      assert.equal(events[0]!.n, "4", "created x2, approved, rejected");
      assert.deepEqual((await call(gw, A, "GET", "refund/notify", { refundId: String(r2.body.data.refundId) })).body, {
        code: 200,
        msg: "success",
      });
    });

    it("withdrawals: one recipient or several (one payout per line), idempotent by outTradeNo, approved with one signature per line", async () => {
      const apply = (over: Record<string, unknown> = {}) =>
        call(gw, A, "POST", "withdraw/apply", {
          chainId: "31337",
          currencyId: 2,
          withdrawAddress: `${PAYER}, ${OTHER}`,
          withdrawAmount: "1.5,2",
          outTradeNo: "w-1",
          ...over,
        });
      const w1 = await apply();
      assert.equal(w1.status, 200, JSON.stringify(w1.body));
      assert.deepEqual(Object.keys(w1.body.data), ["withdrawId"]);
      assert.equal((await apply()).body.data.withdrawId, w1.body.data.withdrawId, "a repeat with its outTradeNo is the same withdrawal");
      assert.equal((await apply({ withdrawAmount: "1.5,3" })).body.code, 40901);
      const d = (await call(gw, A, "GET", "withdraw/detail", { outTradeNo: "w-1" })).body.data;
      assert.equal(d.withdrawId, w1.body.data.withdrawId);
      assert.equal(d.withdrawAddress, `${PAYER},${OTHER}`);
      assert.equal(d.withdrawAmount, "1500000,2000000");
      assert.equal(d.withdrawStatus, 1);
      assert.equal(d.lines.length, 2);
      assert.equal(BigInt(d.lines[1].payoutId), BigInt(d.lines[0].payoutId) + 1n, "each line its own vault payout id");
      assert.equal(d.lines[0].payoutTypedData.message.kind, 1, "withdrawal payout kind");
      const sigs = await signLines(SIGNER_KEY, d.lines);
      assert.equal(
        (await call(gw, A, "POST", "withdraw/approve", { withdrawId: d.withdrawId, signature: sigs[0] })).body.code,
        40001,
        "one signature for two lines",
      );
      assert.equal(
        (await call(gw, A, "POST", "withdraw/approve", { withdrawId: d.withdrawId, signatures: [sigs[1], sigs[0]] })).body.code,
        40007,
        "lines in order",
      );
      const approved = await call(gw, A, "POST", "withdraw/approve", { withdrawId: d.withdrawId, signatures: sigs });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.data.withdrawStatus, 2);
      assert.deepEqual(
        approved.body.data.lines.map((l: any) => l.state),
        [1, 1],
      );
      const groupEvents = await gw.db.query(
        "SELECT payload FROM outbox_events WHERE aggregate_kind = 'withdrawal' AND aggregate_id = $1 ORDER BY seq",
        [String(d.withdrawId)],
      );
      assert.deepEqual(
        groupEvents.map((e) => [e.payload.data.from, e.payload.data.status]),
        [
          [null, 0],
          [0, 1],
        ],
        "one event when applied, one when the whole withdrawal is approved (not one per line)",
      );
      // without outTradeNo: a new withdrawal per signed request, accepted once
      const t = { timestamp: String(Math.floor(Date.now() / 1000)) };
      const single = { chainId: 31337, currencyId: 2, withdrawAddress: FOURTH, withdrawAmount: 0.25 };
      const w2 = await call(gw, A, "POST", "withdraw/apply", single, t);
      assert.equal(w2.status, 200, JSON.stringify(w2.body));
      assert.equal((await call(gw, A, "POST", "withdraw/apply", single, t)).body.code, 40105, "the same signed request again is a replay");
      const w3 = await call(gw, A, "POST", "withdraw/apply", single, { timestamp: String(Number(t.timestamp) + 1) });
      assert.notEqual(w3.body.data.withdrawId, w2.body.data.withdrawId, "signed again: a second withdrawal");
      const rejected = await call(gw, A, "POST", "withdraw/reject", { withdrawId: w3.body.data.withdrawId, reason: "kyc" });
      assert.equal(rejected.body.data.withdrawStatus, 5);
      assert.equal((await call(gw, B, "GET", "withdraw/detail", { withdrawId: String(w2.body.data.withdrawId) })).body.code, 40405);
      const list = await call(gw, A, "GET", "withdraw/list", { orderStatus: "5" });
      assert.deepEqual(
        list.body.data.list.map((w: any) => w.withdrawId),
        [w3.body.data.withdrawId],
      );
      assert.deepEqual((await call(gw, A, "GET", "withdraw/notify", { withdrawId: String(w2.body.data.withdrawId) })).body, {
        code: 200,
        msg: "success",
      });
      assert.equal((await call(gw, B, "POST", "withdraw/notify", { withdrawId: w2.body.data.withdrawId })).body.code, 40405);
    });

    it("user/create answers the userId; user/detail shows the reference's shape by userId, UUID or uuid", async () => {
      const created = await call(gw, A, "POST", "user/create", { uuid: "2313-5f08afe6ca854e4ebf79781f351d0cb7" });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.equal(typeof created.body.data, "number");
      const u = (await call(gw, A, "GET", "user/detail", { UUID: "2313-5f08afe6ca854e4ebf79781f351d0cb7" })).body.data;
      assert.deepEqual(Object.keys(u).sort(), ["createTime", "userId", "userType", "userWallet", "uuid"]);
      assert.equal(u.userId, created.body.data);
      assert.match(u.createTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      assert.equal(u.userType, 0);
      const expected = depositAddress({ vault: VAULT, merchantId: 1n, kind: DepositKind.Recharge, key: 1n });
      assert.deepEqual(
        u.userWallet.map((w: any) => [w.chainId, w.walletAddress]),
        [
          [137, expected],
          [31337, expected],
        ],
      );
      assert.equal((await call(gw, A, "POST", "user/create", { UUID: u.uuid })).body.data, u.userId, "idempotent, either spelling");
      assert.deepEqual((await call(gw, A, "GET", "user/detail", { userId: String(u.userId) })).body.data, u);
      assert.deepEqual((await call(gw, A, "GET", "user/detail", { uuid: u.uuid, chainId: "137" })).body.data.userWallet, [u.userWallet[0]]);
      assert.equal((await call(gw, B, "GET", "user/detail", { UUID: u.uuid })).body.code, 40402);
    });

    it("recharge/list pages newest first with filters; detail and notify by rechargeId; other merchants see nothing", async () => {
      const userId = (await call(gw, A, "POST", "user/create", { uuid: "rc-user" })).body.data;
      const user = (await call(gw, A, "GET", "user/detail", { userId: String(userId) })).body.data;
      const wallet = user.userWallet.find((w: any) => w.chainId === 31337);
      for (let i = 0; i < 5; i++) {
        await gw.db.query(
          `INSERT INTO recharge_orders (id, merchant_id, user_id, chain_id, token_address, amount, status, from_address,
             to_address, tx_hash, log_index, block_number, block_hash, created_at)
           VALUES ($1, 1, $2, 31337, $3, $4, $5, $6, $7, $8, 0, $9, $10, now() + make_interval(secs => $11))`,
          [
            newId(Date.now() + i),
            userId,
            USDT.toLowerCase(),
            1_000_000 * (i + 1),
            i % 2 ? 4 : 2,
            PAYER.toLowerCase(),
            wallet.walletAddress.toLowerCase(),
            `0x${String(i).padStart(64, "0")}`,
            100 + i,
            `0x${"b".repeat(64)}`,
            i,
          ],
        );
      }
      const p1 = await call(gw, A, "GET", "recharge/list", { size: "2" });
      assert.equal(p1.status, 200, JSON.stringify(p1.body));
      assert.equal(p1.body.data.count, 5);
      const r0 = p1.body.data.list[0];
      assert.equal(r0.rechargeAmount, "5000000");
      assert.equal(r0.uuid, "rc-user");
      assert.equal(r0.walletId, wallet.walletId);
      assert.equal(r0.walletAddress, wallet.walletAddress);
      assert.equal(r0.rechargeStatus, 1, "state 2: pending");
      const p3 = await call(gw, A, "GET", "recharge/list", { size: "2", page: "3" });
      assert.equal(p3.body.data.list.length, 1);
      const done = await call(gw, A, "GET", "recharge/list", { orderStatus: "0", UUID: "rc-user" });
      assert.deepEqual(
        done.body.data.list.map((r: any) => r.rechargeAmount),
        ["4000000", "2000000"],
      );
      assert.equal((await call(gw, A, "GET", "recharge/list", { size: "0" })).body.code, 40001);
      const detail = await call(gw, A, "GET", "recharge/detail", { rechargeId: String(r0.rechargeId) });
      assert.deepEqual(detail.body.data, r0);
      assert.equal((await call(gw, B, "GET", "recharge/detail", { rechargeId: String(r0.rechargeId) })).body.code, 40406);
      assert.equal((await call(gw, B, "GET", "recharge/list", {})).body.data.count, 0);
      assert.equal((await call(gw, A, "GET", "recharge/notify", { rechargeId: String(r0.rechargeId) })).status, 200);
      const [e] = await gw.db.query(
        "SELECT o.type FROM outbox_events o JOIN recharge_orders r ON r.id = o.aggregate_id WHERE r.recharge_no = $1",
        [r0.rechargeId],
      );
      assert.equal(e!.type, "recharge.snapshot");
    });

    it("parallel refunds never exceed what was paid; parallel user creates make one user", async () => {
      const req = order();
      await call(gw, A, "POST", "payment/createPaymentOrder", req);
      await pay(req.outTradeNo, 12_500_000n);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          call(gw, A, "POST", "refund/createRefundOrder", {
            outTradeNo: req.outTradeNo,
            outRefundNo: `par-r-${i}`,
            refundAmount: "1",
            refundAddress: OTHER,
          }),
        ),
      );
      const ok = results.filter((r) => r.status === 200);
      assert.equal(ok.length, 12, "12 refunds of 1 fit in 12.5");
      for (const r of results.filter((r) => r.status !== 200)) assert.equal(r.body.code, 40902);
      const [row] = await gw.db.query("SELECT refunded_amount FROM payment_orders WHERE merchant_order_id = $1 AND merchant_id = 1", [
        req.outTradeNo,
      ]);
      assert.equal(row!.refunded_amount, "12000000");
      const users = await Promise.all(Array.from({ length: 30 }, () => call(gw, A, "POST", "user/create", { uuid: "par-user" })));
      for (const u of users) assert.equal(u.status, 200, JSON.stringify(u.body));
      assert.equal(new Set(users.map((u) => u.body.data)).size, 1);
    });

    it("serves an OpenAPI 3.1 document generated from the routes, with the callbacks under webhooks and a docs page", async () => {
      const res = await fetch(`${gw.url}/api/openapi.json`);
      assert.equal(res.status, 200);
      const doc = (await res.json()) as any;
      assert.equal(doc.openapi, "3.1.0");
      const routes = Object.entries(doc.paths).flatMap(([path, ops]: [string, any]) => Object.keys(ops).map((m) => `${m} ${path}`));
      for (const r of [
        "get /api/mer/conf/list/chain",
        "get /api/mer/conf/list/currency",
        "post /api/mer/payment/createPaymentOrder",
        "get /api/mer/payment/detail",
        "get /api/mer/payment/list",
        "get /api/mer/payment/payInfo",
        "post /api/mer/payment/payInfo/update",
        "get /api/mer/payment/notify",
        "post /api/mer/refund/createRefundOrder",
        "get /api/mer/refund/detail",
        "get /api/mer/refund/list",
        "get /api/mer/refund/notify",
        "post /api/mer/user/create",
        "get /api/mer/user/detail",
        "get /api/mer/recharge/list",
        "get /api/mer/recharge/detail",
        "get /api/mer/recharge/notify",
        "post /api/mer/withdraw/apply",
        "get /api/mer/withdraw/detail",
        "get /api/mer/withdraw/list",
        "get /api/mer/withdraw/notify",
      ]) {
        assert.ok(routes.includes(r), r);
      }
      const ids = Object.entries(doc.paths)
        .filter(([path]) => path.startsWith("/api/mer/"))
        .flatMap(([, ops]: [string, any]) => Object.values(ops).map((o: any) => o.operationId));
      assert.equal(new Set(ids).size, ids.length, "operationIds are unique");
      assert.ok(ids.every(Boolean), "every operation has an operationId");
      for (const w of ["payment", "refund", "recharge", "withdraw"]) assert.ok(doc.webhooks[w].post.requestBody, `webhook ${w}`);
      assert.equal(doc.webhooks.payment.post.requestBody.content["application/json"].schema.$ref, "#/components/schemas/PaymentOrder");
      assert.ok(doc.components.schemas.PaymentOrder.properties.paymentStatus);
      const create = doc.paths["/api/mer/payment/createPaymentOrder"].post;
      assert.ok(create.requestBody.content["application/json"].schema.properties.quoteAmount);
      for (const code of Object.values(ErrorCode)) assert.ok(doc.info.description.includes(`- ${code}:`), `error code ${code} documented`);
      assert.match(doc.info.description, /\| 1 incomplete \(less than due seen\) \| 3 \|/, "the status table is in the document");
      const ui = await fetch(`${gw.url}/api/docs/`);
      assert.equal(ui.status, 200);
      assert.match(await ui.text(), /swagger/i);
    });
  });
}
