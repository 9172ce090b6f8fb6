import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Webhook } from "standardwebhooks";
import { createPayClient, PayApiError, signWebhook, verifyWebhook, WebhookVerificationError, type PayClient } from "../../sdk/src/index.js";
import { createMerchantServer } from "../../sdk/examples/merchant-server.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { createOutboxWorker } from "../src/notify/index.js";
import { applyPaymentEvent } from "../src/store/paymentOrders.js";
import { USDT, startGateway, type TestGateway } from "./helpers.js";

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

  const order_ = (id: string, notifyUrl: string) => ({ merchantOrderId: id, chainId: 31337, token: "USDT", amount: "2", notifyUrl });
  const order = (id: string, over: Record<string, unknown> = {}) => ({
    merchantOrderId: id,
    chainId: 31337,
    token: "USDT",
    amount: "12.50",
    notifyUrl: "https://shop.example.test/notify",
    ...over,
  });

  it("creates, reads and cancels a payment order", async () => {
    const created = await sdk.payment.create(order("sdk-1"));
    assert.equal(created.state, 0);
    assert.equal(created.amountBaseUnits, "12500000");
    assert.equal(created.token, USDT);
    assert.match(created.paymentUrl, /payOrderId=/);
    const again = await sdk.payment.create(order("sdk-1"));
    assert.equal(again.payOrderId, created.payOrderId, "idempotent create");
    const byId = await sdk.payment.detail({ payOrderId: created.payOrderId });
    const byRef = await sdk.payment.detail({ merchantOrderId: "sdk-1" });
    assert.deepEqual(byId, byRef);
    const cancelled = await sdk.payment.cancel({ merchantOrderId: "sdk-1" });
    assert.equal(cancelled.state, -3);
    assert.equal((await sdk.payment.detail({ payOrderId: created.payOrderId })).state, -3);
    const notified = await sdk.payment.notify({ payOrderId: created.payOrderId });
    assert.ok(notified.eventId.length > 0);
  });

  it("maps error envelopes to PayApiError with code, msg and HTTP status", async () => {
    await assert.rejects(sdk.payment.create(order("sdk-bad", { amount: "1.1234567" })), (e: unknown) => {
      assert.ok(e instanceof PayApiError);
      assert.equal(e.code, 40002);
      assert.equal(e.httpStatus, 400);
      assert.match(e.msg, /6 decimals/);
      assert.equal(e.retryable, false);
      return true;
    });
    await assert.rejects(sdk.payment.detail({ payOrderId: "01NOSUCHORDER0000000000000" }), (e: unknown) => e instanceof PayApiError && e.code === 40401 && e.httpStatus === 404);
    await assert.rejects(sdk.payment.create(order("sdk-1", { amount: "2" })), (e: unknown) => e instanceof PayApiError && e.code === 40901);
    const wrong = createPayClient({ baseUrl: gw.url, apiKey: gw.merchants[0]!.apiKey, apiSecret: "sk_wrong" });
    await assert.rejects(wrong.payment.detail({ merchantOrderId: "sdk-1" }), (e: unknown) => e instanceof PayApiError && e.code === 40104 && e.httpStatus === 401);
    await assert.rejects(sdk.request("GET", "no/such/route"), (e: unknown) => e instanceof PayApiError && e.code === 40404);
  });

  it("signs query strings that need escaping", async () => {
    const created = await sdk.payment.create(order("sdk:with.dots-and_underscores"));
    const read = await sdk.payment.detail({ merchantOrderId: "sdk:with.dots-and_underscores" });
    assert.equal(read.payOrderId, created.payOrderId);
  });

  it("refunds a paid order", async () => {
    const created = await sdk.payment.create(order("sdk-paid"));
    const ref = { payOrderId: created.payOrderId };
    for (const event of [
      { type: "transferSeen", amount: 12_500_000n },
      { type: "transferConfirmed", amount: 12_500_000n },
    ] as const) {
      await applyPaymentEvent(gw.db, { merchantId: 1n, ref, event, poolCooldownSeconds: 60 });
    }
    await gw.db.query("UPDATE payment_orders SET payer_address = $2 WHERE id = $1", [created.payOrderId, PAYER.toLowerCase()]);
    assert.equal((await sdk.payment.detail(ref)).state, 4);
    const refund = await sdk.refund.create({ ...ref, merchantRefundId: "sdk-r1", amount: "5" });
    assert.equal(refund.state, 0);
    assert.equal(refund.amountBaseUnits, "5000000");
    assert.equal(refund.toAddress, PAYER);
    assert.equal(refund.payoutTypedData?.primaryType, "Payout");
    assert.equal((await sdk.refund.detail({ merchantRefundId: "sdk-r1" })).refundOrderId, refund.refundOrderId);
    await assert.rejects(sdk.refund.create({ ...ref, merchantRefundId: "sdk-r2", amount: "7.6" }), (e: unknown) => e instanceof PayApiError && e.code === 40902);
    const rejected = await sdk.refund.reject({ refundOrderId: refund.refundOrderId, reason: "test" });
    assert.equal(rejected.state, -1);
    assert.equal((await sdk.payment.detail(ref)).refundableAmount, "12.5");
  });

  it("creates a user and applies for a withdrawal", async () => {
    const user = await sdk.user.create({ uuid: "sdk-user-1" });
    assert.equal(user.uuid, "sdk-user-1");
    assert.equal(user.userWallet.length, 2, "one recharge address per configured chain");
    const read = await sdk.user.detail({ userId: String(user.userId) });
    assert.deepEqual(read, user);
    assert.deepEqual(await sdk.user.detail({ uuid: "sdk-user-1" }), user);
    const page = await sdk.recharge.list({ uuid: "sdk-user-1", limit: 5 });
    assert.deepEqual(page, { list: [], nextCursor: null });
    const w = await sdk.withdraw.apply({
      merchantWithdrawId: "sdk-w1",
      uuid: "sdk-user-1",
      chainId: 31337,
      token: "USDT",
      amount: "3.25",
      toAddress: PAYER,
    });
    assert.equal(w.state, 0);
    assert.equal(w.amountBaseUnits, "3250000");
    assert.equal(w.userId, user.userId);
    assert.equal((await sdk.withdraw.detail({ merchantWithdrawId: "sdk-w1" })).withdrawOrderId, w.withdrawOrderId);
    await assert.rejects(sdk.user.detail({ uuid: "nobody" }), (e: unknown) => e instanceof PayApiError && e.code === 40402);
  });

  /** whether the gateway in this tree registers a route (routes still being built by others are skipped) */
  const hasRoute = async (path: string) => {
    const doc = (await (await fetch(`${gw.url}/api/openapi.json`)).json()) as { paths: Record<string, unknown> };
    return `/api/mer/${path}` in doc.paths;
  };

  it("qrcode/create and webhook/attempts", async () => {
    const qr = await sdk.qrcode.create({ label: "Counter 1", chainId: 31337, token: "USDT", notifyUrl: "https://shop.example.test/qr", maxAmount: "100" });
    assert.match(qr.url, /\/m\//);
    assert.match(qr.qrSvg, /^<svg/);
    assert.equal(qr.maxAmount, "100");
    assert.equal((await sdk.qrcode.create({ label: "Counter 1", chainId: 31337, token: "USDT", notifyUrl: "https://shop.example.test/qr", maxAmount: "100" })).code, qr.code, "idempotent by label");
    const log = await sdk.webhook.attempts({ payOrderId: (await sdk.payment.detail({ merchantOrderId: "sdk-1" })).payOrderId });
    assert.ok(log.events.length >= 1, "the cancel wrote a webhook event");
  });

  it("settlement apply, detail, reject", async (t) => {
    if (!(await hasRoute("settlement/apply"))) return t.skip("settlement routes are not registered in this tree yet");
    const s = await sdk.settlement.apply({ merchantSettlementId: "sdk-s1", chainId: 31337, token: "USDT", amount: "7", toAddress: PAYER });
    assert.equal(s.state, 0);
    assert.equal(s.amountBaseUnits, "7000000");
    assert.equal((await sdk.settlement.detail({ merchantSettlementId: "sdk-s1" })).settlementOrderId, s.settlementOrderId);
    assert.equal((await sdk.settlement.reject({ settlementOrderId: s.settlementOrderId })).state, -1);
  });

  it("merchant settings read and update", async (t) => {
    if (!(await hasRoute("merchant/settings"))) return t.skip("merchant settings routes are not registered in this tree yet");
    const settings = await sdk.merchant.settings();
    assert.equal(settings.merchantId, "1");
    assert.ok(settings.webhookSecretHint.startsWith("whsec_"));
    assert.equal((await sdk.merchant.updateSettings({ rechargeNotifyUrl: "https://shop.example.test/recharge" })).rechargeNotifyUrl, "https://shop.example.test/recharge");
  });

  it("the example merchant server creates orders and verifies webhooks delivered by the gateway's notifier", async () => {
    const A = gw.merchants[0]!;
    let publicUrl = "";
    const shop = createMerchantServer({ client: sdk, webhookSecret: A.webhookSecret, publicUrl: "http://127.0.0.1:0" });
    await new Promise<void>((r) => shop.server.listen(0, "127.0.0.1", r));
    publicUrl = `http://127.0.0.1:${(shop.server.address() as { port: number }).port}`;
    const worker = createOutboxWorker({ db: gw.db, box: createSecretBox(gw.config.masterKey), allowPrivateTargets: true, retryScheduleMs: [20], pollIntervalMs: 5 });
    try {
      // the shop's notifyUrl must reach it: create the order through the SDK with the real address
      const order = await sdk.payment.create(order_("shop-1", `${publicUrl}/webhooks/pay`));
      shop.orders.set("shop-1", { orderId: "shop-1", payOrderId: order.payOrderId, paymentUrl: order.paymentUrl, state: 0, events: [] });
      const viaShop = await fetch(`${publicUrl}/checkout`, { method: "POST", body: JSON.stringify({ orderId: "shop-2", amount: "1.5" }) });
      assert.equal(viaShop.status, 200);
      assert.match(((await viaShop.json()) as { paymentUrl: string }).paymentUrl, /payOrderId=/);
      const bad = await fetch(`${publicUrl}/checkout`, { method: "POST", body: JSON.stringify({ orderId: "shop-3", amount: "1.0000001" }) });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { code: number }).code, 40002);

      await sdk.payment.cancel({ payOrderId: order.payOrderId });
      for (let i = 0; i < 100 && !shop.orders.get("shop-1")!.events.length; i++) {
        await worker.runOnce();
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(shop.refused.length, 0, shop.refused.join("; "));
      assert.deepEqual(shop.orders.get("shop-1")!.events.length, 1, "one verified webhook");
      assert.equal(shop.orders.get("shop-1")!.state, -3);
      const log = await sdk.webhook.attempts({ payOrderId: order.payOrderId });
      assert.ok(log.attempts.some((a) => a.httpStatus === 200), JSON.stringify(log));

      // a forged delivery is refused with 400
      const forged = await fetch(`${publicUrl}/webhooks/pay`, {
        method: "POST",
        headers: { ...signWebhook({ secret: "whsec_" + Buffer.alloc(32, 1).toString("base64"), id: "evt_x", body: "{}" }) },
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
    const body = JSON.stringify({ eventId: "evt_1", type: "payment.success", data: { payOrderId: "p1", state: 4 } });
    const now = Math.floor(Date.now() / 1000);

    it("accepts a valid X-PAY-SIGN webhook and returns the parsed body", () => {
      const h = signWebhook({ secret, id: "evt_1", body, timestamp: now });
      const ev = verifyWebhook({ secret, headers: { "X-PAY-EVENT-ID": h["x-pay-event-id"], "X-PAY-TIMESTAMP": h["x-pay-timestamp"], "X-PAY-SIGN": h["x-pay-sign"] }, body });
      assert.equal(ev.eventId, "evt_1");
      assert.equal(ev.type, "payment.success");
    });

    it("accepts Standard Webhooks headers, interoperable with the standardwebhooks library", () => {
      const official = new Webhook(secret);
      const sig = official.sign("evt_1", new Date(now * 1000), body);
      const headers = new Headers({ "webhook-id": "evt_1", "webhook-timestamp": String(now), "webhook-signature": `v1,bogus ${sig}` });
      assert.equal(verifyWebhook({ secret, headers, body }).eventId, "evt_1");
      // and the library accepts what signWebhook produces
      const ours = signWebhook({ secret, id: "evt_1", body, timestamp: now });
      assert.deepEqual(official.verify(body, ours), JSON.parse(body));
    });

    const rejects = (p: Parameters<typeof verifyWebhook>[0], re: RegExp) =>
      assert.throws(() => verifyWebhook(p), (e: unknown) => e instanceof WebhookVerificationError && re.test(e.message));

    it("refuses a tampered body, a stale timestamp, a wrong secret and missing headers", () => {
      const h = signWebhook({ secret, id: "evt_1", body, timestamp: now });
      rejects({ secret, headers: h, body: body.replace('"state":4', '"state":3') }, /does not match/);
      const stale = signWebhook({ secret, id: "evt_1", body, timestamp: now - 301 });
      rejects({ secret, headers: stale, body }, /stale/);
      assert.equal(verifyWebhook({ secret, headers: stale, body, toleranceSeconds: 600 }).eventId, "evt_1");
      const future = signWebhook({ secret, id: "evt_1", body, timestamp: now + 400 });
      rejects({ secret, headers: future, body }, /stale/);
      const other = "whsec_" + Buffer.alloc(32, 8).toString("base64");
      rejects({ secret: other, headers: h, body }, /does not match/);
      rejects({ secret, headers: { ...h, "x-pay-event-id": "evt_2" }, body }, /does not match/);
      rejects({ secret, headers: { ...h, "x-pay-sign": h["x-pay-sign"]!.slice(0, 62) }, body }, /does not match/);
      rejects({ secret, headers: { "content-type": "application/json" }, body }, /missing signature headers/);
      const sw = { "webhook-id": "evt_1", "webhook-timestamp": String(now), "webhook-signature": h["webhook-signature"]!.replace(/^v1/, "v2") };
      rejects({ secret, headers: sw, body }, /does not match/);
    });
  });
});
