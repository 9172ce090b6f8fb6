import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Webhook } from "standardwebhooks";
import { privateKeyToAccount } from "viem/accounts";
import {
  createPayClient,
  PayApiError,
  signWebhook,
  typedDataToSign,
  verifyWebhook,
  WebhookVerificationError,
  type PayClient,
} from "../../sdk/src/index.js";
import { createMerchantServer } from "../../sdk/examples/merchant-server.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { createOutboxWorker } from "../src/notify/index.js";
import { applyPaymentEvent } from "../src/store/paymentOrders.js";
import { SIGNER_KEY, USDT, startGateway, type TestGateway } from "./helpers.js";

/** The merchant SDK against the real gateway app over real HTTP (PGlite in memory). */
describe("merchant SDK", () => {
  let gw: TestGateway;
  let sdk: PayClient;
  const PAYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

  before(async () => {
    gw = await startGateway("pglite", { allowPrivateWebhookTargets: true }); // the example merchant server listens on 127.0.0.1
    const A = gw.merchants[0]!;
    sdk = createPayClient({ baseUrl: gw.url, apiKey: A.apiKey, apiSecret: A.apiSecret });
  });
  after(async () => {
    await gw?.close();
  });

  const order = (id: string, over: Record<string, unknown> = {}) => ({
    chainId: 31337,
    outTradeNo: id,
    description: "sdk test",
    quoteCurrencySymbol: "USDT",
    quoteAmount: "12.50",
    notifyUrl: "https://shop.example.test/notify",
    ...over,
  });

  it("reads the chains and currencies, creates, reads, lists and cancels a payment order", async () => {
    const chains = await sdk.conf.chains();
    assert.deepEqual(chains.map((c) => c.chainId).sort(), [137, 31337]);
    const usdt = (await sdk.conf.currencies({ chainId: 31337 })).find((c) => c.symbol === "USDT")!;
    assert.equal(usdt.address, USDT);
    const created = await sdk.payment.create(order("sdk-1"));
    assert.equal(created.paymentStatus, 1);
    assert.equal(created.expectedAmount, "12500000");
    assert.equal(created.currencyId, usdt.currencyId);
    assert.match(created.paymentLink, /payOrderId=/);
    assert.ok(created.paymentUrl.startsWith("/pay?"));
    const again = await sdk.payment.create(order("sdk-1"));
    assert.equal(again.outPaymentNo, created.outPaymentNo, "idempotent create");
    const byTrade = await sdk.payment.detail({ outTradeNo: "sdk-1" });
    const byBoth = await sdk.payment.detail({ outTradeNo: "sdk-1", outPaymentNo: created.outPaymentNo });
    assert.deepEqual(byTrade, byBoth);
    assert.equal(
      (await sdk.payment.list({ orderStatus: 1, size: 500 })).list.some((p) => p.outTradeNo === "sdk-1"),
      true,
    );
    assert.equal((await sdk.payment.payInfo({ outTradeNo: "sdk-1" })).orgName, "Shop A");
    const cancelled = await sdk.payment.cancel({ outTradeNo: "sdk-1" });
    assert.equal(cancelled.state, -3);
    assert.equal((await sdk.payment.detail({ outTradeNo: "sdk-1" })).paymentStatus, 4);
    await sdk.payment.notify({ outTradeNo: "sdk-1" });
  });

  it("maps error envelopes to PayApiError with code, msg and HTTP status", async () => {
    await assert.rejects(sdk.payment.create(order("sdk-bad", { quoteAmount: "1.1234567" })), (e: unknown) => {
      assert.ok(e instanceof PayApiError);
      assert.equal(e.code, 40002);
      assert.equal(e.httpStatus, 400);
      assert.match(e.msg, /USDT has 6/);
      assert.equal(e.retryable, false);
      return true;
    });
    await assert.rejects(
      sdk.payment.detail({ outTradeNo: "nosuchorder" }),
      (e: unknown) => e instanceof PayApiError && e.code === 40401 && e.httpStatus === 404,
    );
    await assert.rejects(
      sdk.payment.create(order("sdk-1", { quoteAmount: "2" })),
      (e: unknown) => e instanceof PayApiError && e.code === 40901,
    );
    const wrong = createPayClient({ baseUrl: gw.url, apiKey: gw.merchants[0]!.apiKey, apiSecret: "sk_wrong" });
    await assert.rejects(
      wrong.payment.detail({ outTradeNo: "sdk-1" }),
      (e: unknown) => e instanceof PayApiError && e.code === 40104 && e.httpStatus === 401,
    );
    await assert.rejects(sdk.request("GET", "no/such/route"), (e: unknown) => e instanceof PayApiError && e.code === 40404);
  });

  it("signs query strings that need escaping", async () => {
    const created = await sdk.payment.create(order("sdk:with.dots-and_underscores/and+plus"));
    const read = await sdk.payment.detail({ outTradeNo: "sdk:with.dots-and_underscores/and+plus" });
    assert.equal(read.outPaymentNo, created.outPaymentNo);
  });

  it("refunds a paid order", async () => {
    await sdk.payment.create(order("sdk-paid"));
    const ref = { merchantOrderId: "sdk-paid" };
    for (const event of [
      { type: "transferSeen", amount: 12_500_000n },
      { type: "transferConfirmed", amount: 12_500_000n },
    ] as const) {
      await applyPaymentEvent(gw.db, { merchantId: 1n, ref, event, poolCooldownSeconds: 60 });
    }
    await gw.db.query("UPDATE payment_orders SET payer_address = $1 WHERE merchant_order_id = 'sdk-paid'", [PAYER.toLowerCase()]);
    assert.equal((await sdk.payment.detail({ outTradeNo: "sdk-paid" })).paymentStatus, 0);
    const { refundId } = await sdk.refund.create({ outTradeNo: "sdk-paid", outRefundNo: "sdk-r1", refundAmount: "5" });
    const refund = await sdk.refund.detail({ refundId });
    assert.equal(refund.refundStatus, 1);
    assert.equal(refund.refundAmount, "5000000");
    assert.equal(refund.refundAddress, PAYER);
    assert.equal(refund.lines[0]!.payoutTypedData?.primaryType, "Payout");
    assert.equal((await sdk.refund.detail({ outRefundNo: "sdk-r1" })).refundId, refundId);
    await assert.rejects(
      sdk.refund.create({ outTradeNo: "sdk-paid", refundAmount: "7.6" }),
      (e: unknown) => e instanceof PayApiError && e.code === 40902,
    );
    const rejected = await sdk.refund.reject({ refundId, reason: "test" });
    assert.equal(rejected.refundStatus, 5);
    assert.equal((await sdk.payment.detail({ outTradeNo: "sdk-paid" })).refundableAmount, "12500000");
    assert.equal((await sdk.refund.list({ orderStatus: 5 })).count, 1);
  });

  it("typedDataToSign turns a payout's and a batch's typed data into what a wallet signs: the gateway accepts both signatures", async () => {
    const signer = privateKeyToAccount(SIGNER_KEY as `0x${string}`);
    const usdt = (await sdk.conf.currencies({ chainId: 31337 })).find((c) => c.symbol === "USDT")!;
    const apply = (outTradeNo: string, amount: string) =>
      sdk.request<{ settlementId: number }>("POST", "settlement/apply", {
        outTradeNo,
        chainId: 31337,
        currencyId: usdt.currencyId,
        settlementAmount: amount,
        settlementAddress: PAYER,
      });
    // one payout: every integer of the message becomes a bigint, the domain's chainId a number
    const { settlementId } = await apply("sdk-td1", "1.5");
    const detail = await sdk.settlement.detail({ settlementId });
    const one = typedDataToSign(detail.lines[0]!.payoutTypedData!);
    assert.equal(one.domain.chainId, 31337);
    assert.equal(one.message.amount, 1_500_000n);
    assert.equal(typeof one.message.payoutId, "bigint");
    assert.equal(one.types.EIP712Domain, undefined);
    const approved = await sdk.settlement.approve({ settlementId, signature: await signer.signTypedData(one) });
    assert.equal(approved.state, 1);
    // a batch: the items inside the array are converted too
    const a = await apply("sdk-td2", "0.25");
    const b = await apply("sdk-td3", "0.75");
    const shown = await sdk.payout.batchTypedData({ settlementIds: [a.settlementId, b.settlementId] });
    const batch = typedDataToSign(shown.payoutTypedData);
    assert.deepEqual(
      (batch.message.payouts as { amount: bigint }[]).map((p) => p.amount),
      [250_000n, 750_000n],
    );
    const done = await sdk.payout.batchApprove({
      settlementIds: [a.settlementId, b.settlementId],
      signature: await signer.signTypedData(batch),
    });
    assert.equal(done.payoutCount, 2);
    // the wrong shape is refused with a message, not signed as something else
    assert.throws(() => typedDataToSign({ ...one, domain: { ...one.domain }, primaryType: "Nope" }), /primaryType Nope/);
  });

  it("creates a user and applies for a withdrawal", async () => {
    const userId = await sdk.user.create({ uuid: "sdk-user-1" });
    const user = await sdk.user.detail({ userId });
    assert.equal(user.uuid, "sdk-user-1");
    assert.equal(user.userWallet.length, 2, "one recharge address per configured chain");
    assert.deepEqual(await sdk.user.detail({ uuid: "sdk-user-1" }), user);
    assert.deepEqual(await sdk.recharge.list({ uuid: "sdk-user-1", size: 5 }), { count: 0, page: 1, size: 5, list: [] });
    const { withdrawId } = await sdk.withdraw.apply({
      outTradeNo: "sdk-w1",
      chainId: 31337,
      currencyId: 2,
      withdrawAddress: PAYER,
      withdrawAmount: "3.25",
    });
    const w = await sdk.withdraw.detail({ withdrawId });
    assert.equal(w.withdrawStatus, 1);
    assert.equal(w.withdrawAmount, "3250000");
    assert.equal((await sdk.withdraw.detail({ outTradeNo: "sdk-w1" })).withdrawId, withdrawId);
    await assert.rejects(sdk.user.detail({ uuid: "nobody" }), (e: unknown) => e instanceof PayApiError && e.code === 40402);
  });

  it("qrcode/create and webhook/attempts", async () => {
    const qr = await sdk.qrcode.create({
      label: "Counter 1",
      chainId: 31337,
      currencyId: 2,
      notifyUrl: "https://shop.example.test/qr",
      maxAmount: "100",
    });
    assert.match(qr.url, /\/m\//);
    assert.match(qr.qrSvg, /^<svg/);
    assert.equal(qr.maxAmount, "100000000");
    assert.equal(
      (
        await sdk.qrcode.create({
          label: "Counter 1",
          chainId: 31337,
          currencyId: 2,
          notifyUrl: "https://shop.example.test/qr",
          maxAmount: "100",
        })
      ).code,
      qr.code,
      "idempotent by label",
    );
    const log = await sdk.webhook.attempts({ outTradeNo: "sdk-1" });
    assert.ok(log.events.length >= 1, "the cancel wrote a callback event");
  });

  it("settlement apply, detail, reject", async () => {
    const { settlementId } = await sdk.settlement.apply({
      outTradeNo: "sdk-s1",
      chainId: 31337,
      currencyId: 2,
      settlementAmount: "7",
      settlementAddress: PAYER,
    });
    const s = await sdk.settlement.detail({ settlementId });
    assert.equal(s.settlementStatus, 1);
    assert.equal(s.settlementAmount, "7000000");
    assert.equal((await sdk.settlement.detail({ outTradeNo: "sdk-s1" })).settlementId, settlementId);
    assert.equal((await sdk.settlement.reject({ settlementId })).settlementStatus, 5);
  });

  it("merchant settings read and update", async () => {
    const settings = await sdk.merchant.settings();
    assert.equal(settings.orgId, 1);
    assert.ok(settings.webhookSecretHint.startsWith("whsec_"));
    assert.equal(
      (await sdk.merchant.updateSettings({ rechargeNotifyUrl: "https://shop.example.test/recharge" })).rechargeNotifyUrl,
      "https://shop.example.test/recharge",
    );
  });

  it("the example merchant server creates orders and verifies the callbacks the gateway's notifier delivers", async () => {
    const A = gw.merchants[0]!;
    const shop = createMerchantServer({
      client: sdk,
      apiSecret: A.apiSecret,
      webhookSecret: A.webhookSecret,
      publicUrl: "http://127.0.0.1:0",
    });
    await new Promise<void>((r) => shop.server.listen(0, "127.0.0.1", r));
    const publicUrl = `http://127.0.0.1:${(shop.server.address() as { port: number }).port}`;
    const worker = createOutboxWorker({
      db: gw.db,
      config: gw.config,
      box: createSecretBox(gw.config.masterKey),
      allowPrivateTargets: true,
      retryScheduleMs: [20],
      pollIntervalMs: 5,
    });
    try {
      // the shop's notifyUrl must reach it: create the order through the SDK with the real address
      const created = await sdk.payment.create(order("shop-1", { quoteAmount: "2", notifyUrl: `${publicUrl}/callbacks/pay?shop=1` }));
      shop.orders.set("shop-1", {
        orderId: "shop-1",
        outPaymentNo: created.outPaymentNo,
        paymentLink: created.paymentLink,
        paymentStatus: 1,
        callbacks: [],
      });
      const viaShop = await fetch(`${publicUrl}/checkout`, { method: "POST", body: JSON.stringify({ orderId: "shop-2", amount: "1.5" }) });
      assert.equal(viaShop.status, 200);
      assert.match(((await viaShop.json()) as { paymentLink: string }).paymentLink, /payOrderId=/);
      const bad = await fetch(`${publicUrl}/checkout`, {
        method: "POST",
        body: JSON.stringify({ orderId: "shop-3", amount: "1.0000001" }),
      });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { code: number }).code, 40002);

      await sdk.payment.cancel({ outTradeNo: "shop-1" });
      for (let i = 0; i < 100 && !shop.orders.get("shop-1")!.callbacks.length; i++) {
        await worker.runOnce();
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(shop.refused.length, 0, shop.refused.join("; "));
      assert.deepEqual(shop.orders.get("shop-1")!.callbacks, [4], "one verified callback: payment failed (cancelled)");
      assert.equal(shop.received[0]!.verifiedBy, "x-pay-sign");
      const log = await sdk.webhook.attempts({ outTradeNo: "shop-1" });
      assert.ok(
        log.attempts.some((a) => a.httpStatus === 200),
        JSON.stringify(log),
      );
      assert.equal(log.events[0]!.status, "delivered", "the example answered success");

      // a forged delivery is refused with 400
      const forged = await fetch(`${publicUrl}/callbacks/pay`, {
        method: "POST",
        headers: signWebhook({
          apiKey: A.apiKey,
          apiSecret: "sk_forged",
          secret: "whsec_" + Buffer.alloc(32, 1).toString("base64"),
          id: "evt_x",
          url: `${publicUrl}/callbacks/pay`,
          body: "{}",
        }),
        body: "{}",
      });
      assert.equal(forged.status, 400);
      assert.equal(shop.refused.length, 1);
    } finally {
      await worker.stop();
      await new Promise((r) => shop.server.close(r));
    }
  });

  describe("verifyWebhook", () => {
    const secret = "whsec_" + Buffer.alloc(32, 7).toString("base64");
    const apiSecret = "sk_example";
    const url = "https://shop.example.test/pay/callback?order=1";
    const body = JSON.stringify({ outTradeNo: "ORDER-1001", outPaymentNo: "p1", paymentStatus: 0 });
    const now = Math.floor(Date.now() / 1000);
    const sign = (timestamp = now, id = "evt_1") => signWebhook({ apiKey: "pk", apiSecret, secret, id, url, body, timestamp });

    it("accepts X-PAY-SIGN (the API secret over the notify path and query) and returns the parsed body", () => {
      const h = sign();
      const ev = verifyWebhook({
        apiSecret,
        requestPath: "/pay/callback?order=1",
        headers: { "X-PAY-KEY": "pk", "X-PAY-TIMESTAMP": h["x-pay-timestamp"], "X-PAY-SIGN": h["x-pay-sign"], "X-PAY-EVENT-ID": "evt_1" },
        body,
      });
      assert.equal(ev.eventId, "evt_1");
      assert.equal(ev.verifiedBy, "x-pay-sign");
      assert.equal(ev.data.paymentStatus, 0);
    });

    it("accepts Standard Webhooks headers, interoperable with the standardwebhooks library", () => {
      const official = new Webhook(secret);
      const sig = official.sign("evt_1", new Date(now * 1000), body);
      const headers = new Headers({ "webhook-id": "evt_1", "webhook-timestamp": String(now), "webhook-signature": `v1,bogus ${sig}` });
      assert.equal(verifyWebhook({ secret, headers, body }).verifiedBy, "standard-webhooks");
      // and the library accepts what signWebhook produces
      assert.deepEqual(official.verify(body, sign()), JSON.parse(body));
    });

    const rejects = (p: Parameters<typeof verifyWebhook>[0], re: RegExp) =>
      assert.throws(
        () => verifyWebhook(p),
        (e: unknown) => e instanceof WebhookVerificationError && re.test(e.message),
      );

    it("refuses a tampered body, another path, a stale timestamp, a wrong secret and missing headers", () => {
      const h = sign();
      const pay = { apiSecret, requestPath: "/pay/callback?order=1" };
      rejects({ ...pay, headers: h, body: body.replace('"paymentStatus":0', '"paymentStatus":4') }, /does not match/);
      rejects({ ...pay, requestPath: "/pay/callback?order=2", headers: h, body }, /does not match/);
      rejects({ ...pay, headers: sign(now - 301), body }, /stale/);
      assert.equal(verifyWebhook({ ...pay, headers: sign(now - 301), body, toleranceSeconds: 600 }).eventId, "evt_1");
      rejects({ ...pay, headers: sign(now + 400), body }, /stale/);
      rejects({ ...pay, apiSecret: "sk_other", headers: h, body }, /does not match/);
      rejects({ secret: "whsec_" + Buffer.alloc(32, 8).toString("base64"), headers: h, body }, /does not match/);
      rejects({ secret, headers: { ...h, "webhook-id": "evt_2" }, body }, /does not match/);
      rejects({ ...pay, headers: { ...h, "x-pay-sign": h["x-pay-sign"]!.slice(0, 40) }, body }, /does not match/);
      rejects({ secret, headers: { "content-type": "application/json" }, body }, /missing signature headers/);
      rejects({ apiSecret, headers: h, body }, /requestPath is needed/);
      const sw = {
        "webhook-id": "evt_1",
        "webhook-timestamp": String(now),
        "webhook-signature": h["webhook-signature"]!.replace(/^v1/, "v2"),
      };
      rejects({ secret, headers: sw, body }, /does not match/);
    });
  });
});
