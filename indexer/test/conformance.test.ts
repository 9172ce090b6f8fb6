/**
 * Conformance with Pay Protocol's merchant API, written from the reference (/work/shared/wire/pay-protocol.md,
 * copied facts cited by section), not from the gateway's code: the client here signs with its own HMAC
 * (section 1.3), checks the field names and types of section 3, behaves like Pay Protocol's WooCommerce plugin
 * where the reference describes it (3.3, 4.1), and receives the callbacks in servers that verify them by the
 * reference's rule and by the Standard Webhooks library. The gateway's own modules are used only to start it
 * and to stand in for the chain (moving an order as a confirmed transfer would).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { Webhook } from "standardwebhooks";
import { paySignature as sdkSignature } from "../../sdk/src/index.js";
import { paySignature as gatewaySignature } from "../src/crypto/signing.js";
import { newId } from "../src/domain/ids.js";
import { createOutboxWorker, type OutboxWorker } from "../src/notify/index.js";
import { applyPaymentEvent } from "../src/store/paymentOrders.js";
import { startGateway, tableCounts, testConfig, USDT, type TestGateway } from "./helpers.js";

// ------------------------------------------------------------------ the reference's signing rule (1.3), written here

/** Base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body)): plain concatenation, the secret string as the key. */
const sign = (secret: string, timestamp: string, method: string, requestPath: string, body: string) =>
  createHmac("sha256", secret)
    .update(timestamp + method.toUpperCase() + requestPath + body)
    .digest("base64");

/** Appendix A: vectors computed with Python hmac/base64 and openssl, secret `my-api-secret`. */
const VECTORS = [
  {
    signString: "1684304935GET/api/mer/conf/list/currency?chainId=101",
    sign: "wdcfzy78VhyF19SmivCx3j8fkWF3u1mAik6FO5GBCdQ=",
    parts: ["1684304935", "GET", "/api/mer/conf/list/currency?chainId=101", ""],
  },
  {
    signString:
      '1723971200POST/api/mer/payment/createPaymentOrder{"chainId":1,"description":"some products","isLegalTender":1,"notifyUrl":"https://merchant.example/notify","outTradeNo":"ORDER-1001","quoteAmount":"10.5","quoteCurrencySymbol":"USDT"}',
    sign: "O8LeT7z3OfWv1hTbHjMdjiQ2FzsUowKa6OV69Pf1lv8=",
    parts: [
      "1723971200",
      "POST",
      "/api/mer/payment/createPaymentOrder",
      '{"chainId":1,"description":"some products","isLegalTender":1,"notifyUrl":"https://merchant.example/notify","outTradeNo":"ORDER-1001","quoteAmount":"10.5","quoteCurrencySymbol":"USDT"}',
    ],
  },
  {
    signString: '1684304935POST/notify{"outTradeNo":"ORDER-1001","outPaymentNo":"202312181035353064","paymentStatus":0}',
    sign: "p5d4qh++MlDf6UJnkmnXeCWEaVfyhqPEV0Yzb7iafmI=",
    parts: ["1684304935", "POST", "/notify", '{"outTradeNo":"ORDER-1001","outPaymentNo":"202312181035353064","paymentStatus":0}'],
  },
];

// PHP's json_encode($params, JSON_UNESCAPED_SLASHES) as the plugin sends it (3.3): compact, "/" kept, non-ASCII as \uXXXX
const phpJson = (v: unknown) => JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

type Envelope = { code: number; msg: string; data?: any };

/** A Pay Protocol client as the reference describes one: signs the exact path it sends and the exact bytes of the body. */
function payClient(base: string, apiKey: string, secret: string) {
  return async (
    method: "GET" | "POST",
    requestPath: string,
    body = "",
    extra: Record<string, string> = {},
  ): Promise<{ status: number; env: Envelope }> => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const res = await fetch(base + requestPath, {
      method,
      // the plugin sends Content-Type: application/json on GET too (1.2)
      headers: {
        "Content-Type": "application/json",
        "X-PAY-KEY": apiKey,
        "X-PAY-TIMESTAMP": timestamp,
        "X-PAY-SIGN": sign(secret, timestamp, method, requestPath, body),
        ...extra,
      },
      body: method === "POST" ? body : undefined,
    });
    return { status: res.status, env: (await res.json()) as Envelope };
  };
}

type Received = {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: any;
  payVerified: boolean;
  standardVerified: boolean;
};

/** A callback receiver that trusts nothing it has not verified, by the reference's rule (4.1) and by Standard Webhooks. */
function receiver(apiSecret: string, webhookSecret: string, answer: (r: Received) => { status: number; type: string; body: string }) {
  const got: Received[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const h = req.headers;
    const expected = sign(apiSecret, String(h["x-pay-timestamp"]), "POST", req.url!, raw);
    let standardVerified = true;
    try {
      new Webhook(webhookSecret).verify(raw, {
        "webhook-id": String(h["webhook-id"]),
        "webhook-timestamp": String(h["webhook-timestamp"]),
        "webhook-signature": String(h["webhook-signature"]),
      });
    } catch {
      standardVerified = false;
    }
    const r: Received = {
      path: req.url!,
      headers: h,
      raw,
      body: JSON.parse(raw),
      payVerified: h["x-pay-sign"] === expected,
      standardVerified,
    };
    got.push(r);
    const a = answer(r);
    res.writeHead(a.status, { "content-type": a.type }).end(a.body);
  });
  return { server, got };
}

const listen = (s: http.Server) => new Promise<number>((ok) => s.listen(0, "127.0.0.1", () => ok((s.address() as { port: number }).port)));
const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

// field names and types of section 3 (int32/int64 -> integer, string, date-time -> string)
const FIELDS = {
  chain: { chainId: "number", chainName: "string" },
  currency: {
    currencyId: "number",
    chainId: "number",
    name: "string",
    symbol: "string",
    address: "string",
    decimals: "number",
    createTime: "string",
    icon: "string",
  },
  created: { outPaymentNo: "string", paymentUrl: "string", userWalletAddress: "string", saltHash: "string" },
  payment: {
    chainId: "number",
    orgId: "number",
    outTradeNo: "string",
    outPaymentNo: "string",
    description: "string",
    isLegalTender: "number",
    quoteCurrencySymbol: "string",
    quoteAmount: "string",
    paymentStatus: "number",
    paymentType: "number",
    expectedAmount: "string",
  },
  payInfo: { countDown: "number", orgName: "string", userWalletAddress: "string", saltHash: "string" },
  payInfoUpdate: { expectedAmount: "string", userWalletAddress: "string", saltHash: "string" },
  refund: {
    chainId: "number",
    currencyId: "number",
    refundId: "number",
    outTradeNo: "string",
    outPaymentNo: "string",
    refundAddress: "string",
    refundAmount: "string",
    refundFee: "string",
    refundStatus: "number",
    refundTime: "string",
  },
  user: { userId: "number", uuid: "string", createTime: "string", userWallet: "object", userType: "number" },
  recharge: {
    chainId: "number",
    rechargeId: "number",
    userId: "number",
    uuid: "string",
    currencyId: "number",
    rechargeAmount: "string",
    rechargeStatus: "number",
    transferHash: "string",
    walletId: "number",
    walletAddress: "string",
    fromAddress: "string",
    createTime: "string",
  },
  withdraw: {
    chainId: "number",
    currencyId: "number",
    withdrawId: "number",
    withdrawAmount: "string",
    withdrawAddress: "string",
    withdrawStatus: "number",
    withdrawTime: "string",
  },
  page: { count: "number", page: "number", size: "number", list: "object" },
} as const;

function hasFields(o: any, fields: Record<string, string>, what: string) {
  assert.ok(o && typeof o === "object", `${what}: an object`);
  for (const [k, t] of Object.entries(fields)) {
    assert.ok(k in o, `${what}.${k} is present`);
    assert.equal(typeof o[k], t, `${what}.${k} is a ${t}`);
    if (t === "number") assert.ok(Number.isInteger(o[k]), `${what}.${k} is an integer`);
  }
}
const TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

describe("Pay Protocol conformance (from the reference)", () => {
  it("request signatures: Appendix A's vectors, by this file's HMAC, openssl, the gateway and the SDK", () => {
    let openssl = true;
    for (const v of VECTORS) {
      assert.equal(v.parts.join(""), v.signString);
      const [ts, method, path, body] = v.parts as [string, string, string, string];
      assert.equal(sign("my-api-secret", ts, method, path, body), v.sign);
      assert.equal(gatewaySignature("my-api-secret", { timestamp: ts, method, requestPath: path, body }), v.sign);
      assert.equal(sdkSignature({ apiSecret: "my-api-secret", timestamp: ts, method, requestPath: path, body }), v.sign);
      try {
        const out = execFileSync("openssl", ["dgst", "-sha256", "-hmac", "my-api-secret", "-binary"], { input: v.signString });
        assert.equal(out.toString("base64"), v.sign);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        openssl = false;
      }
    }
    if (!openssl) console.log("NOTICE: no openssl binary: the vectors were checked by three HMAC implementations only");
    assert.equal(VECTORS[0]!.sign.length, 44, "standard Base64 with = padding (1.3)");
  });

  describe("over HTTP", () => {
    let gw: TestGateway;
    let worker: OutboxWorker;
    let call: ReturnType<typeof payClient>;
    let shop: ReturnType<typeof receiver>;
    let independent: ReturnType<typeof receiver>;
    let shopUrl: string;
    let notifyUrl: string;
    const detailSeen: any[] = [];

    before(async () => {
      const base = testConfig();
      // a second chain with USDT of 18 decimals (payInfo/update: the same symbol on another chain)
      const chains = base.chains.map((c) =>
        c.chainId === 137
          ? {
              ...c,
              tokens: [...c.tokens, { symbol: "USDT", address: "0xc2132D05D31c914a87C6611C10748AEb04B58e8F" as const, decimals: 18 }],
            }
          : c,
      );
      gw = await startGateway("pglite", { chains, allowPrivateWebhookTargets: true });
      const A = gw.merchants[0]!;
      call = payClient(gw.url, A.apiKey, A.apiSecret);
      // the WooCommerce plugin's callback handler (4.1): no signature check, reads outTradeNo and outPaymentNo,
      // queries payment/detail with both, answers wp_send_json("success") (a JSON string) only when paid
      shop = receiver(A.apiSecret, A.webhookSecret, () => ({
        status: 200,
        type: "application/json; charset=UTF-8",
        body: JSON.stringify("fail"),
      }));
      shop.server.removeAllListeners("request");
      shop.server.on("request", async (req, res) => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const data = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        shop.got.push({ path: req.url!, headers: req.headers, raw: "", body: data, payVerified: false, standardVerified: false });
        const d = await call("GET", `/api/mer/payment/detail?outTradeNo=${data.outTradeNo}&outPaymentNo=${data.outPaymentNo}`);
        detailSeen.push(d.env.data);
        // PHP's loose == : "10.00" == "10" holds
        const paid = d.env.data?.paymentStatus == 0 && Number(d.env.data.quoteAmount) === 10 && d.env.data.quoteCurrencySymbol == "USDT";
        res.writeHead(200, { "content-type": "application/json; charset=UTF-8" }).end(JSON.stringify(paid ? "success" : "fail"));
      });
      shopUrl = `http://127.0.0.1:${await listen(shop.server)}`;
      independent = receiver(A.apiSecret, A.webhookSecret, () => ({ status: 200, type: "text/plain", body: "success" }));
      notifyUrl = `http://127.0.0.1:${await listen(independent.server)}/pay/callback?shop=7&lang=en`;
      worker = createOutboxWorker({
        db: gw.db,
        config: gw.config,
        box: (await import("../src/crypto/secretBox.js")).createSecretBox(gw.config.masterKey),
        allowPrivateTargets: true,
        retryScheduleMs: [300, 300, 300],
        pollIntervalMs: 20,
        waitMs: 200,
      });
      worker.start();
    });
    after(async () => {
      await worker?.stop();
      shop?.server.close();
      independent?.server.close();
      await gw?.close();
    });

    it("conf/list/chain and conf/list/currency (3.1, 3.2): envelope code 200, chainId and chainName, currencies with their ids", async () => {
      const chains = await call("GET", "/api/mer/conf/list/chain");
      assert.equal(chains.status, 200);
      assert.equal(chains.env.code, 200, "the integer 200 (2.1)");
      assert.equal(chains.env.msg, "success");
      for (const c of chains.env.data) hasFields(c, FIELDS.chain, "chain");
      assert.deepEqual(chains.env.data.map((c: any) => c.chainId).sort(), [137, 31337]);
      const currencies = await call("GET", "/api/mer/conf/list/currency?chainId=137");
      for (const c of currencies.env.data) hasFields(c, FIELDS.currency, "currency");
      assert.ok(currencies.env.data.every((c: any) => c.chainId === 137));
      assert.ok(currencies.env.data.some((c: any) => c.symbol === "USDT" && c.decimals === 18));
      assert.match(currencies.env.data[0].icon, /^data:image\//, "icon is a data URI");
    });

    it('a WooCommerce-plugin checkout: string chainId, "10.00", unescaped slashes, detail by both numbers, the quoted "success" acknowledgement', async () => {
      const wcOrder = `WP-ORDER-${gw.merchants[0]!.apiKey}-1001`;
      // the arguments of get_crypto_params (3.3), with the shop's filter choosing a crypto quote (this gateway
      // has no fiat prices yet: the stock isLegalTender 1 is answered below)
      const params = {
        chainId: "31337",
        outTradeNo: wcOrder,
        description: "Currently WooCommerce product information – 2 × book",
        isLegalTender: 0,
        notifyUrl: `${shopUrl}/?wc-api=wc_gateway_crypto`,
        quoteCurrencySymbol: "USDT",
        quoteAmount: "10.00",
        redirectionUrl: "http://shop.example.test/checkout/order-received/1001/?key=wc_order_abc",
      };
      const body = phpJson(params);
      assert.ok(body.includes("http://shop.example.test/checkout/"), "slashes unescaped");
      assert.ok(body.includes("\\u2013"), "non-ASCII escaped as PHP does: the signature covers these bytes");
      const created = await call("POST", "/api/mer/payment/createPaymentOrder", body);
      assert.ok(created.env.code === 200, `the plugin checks code === 200 strictly: ${JSON.stringify(created.env)}`);
      hasFields(created.env.data, FIELDS.created, "createPaymentOrder");
      assert.ok(created.env.data.paymentUrl.startsWith("/"), "paymentUrl is a path the plugin prefixes with its payment host");
      assert.match(created.env.data.saltHash, /^0x[0-9a-f]{64}$/);
      const outPaymentNo = created.env.data.outPaymentNo;

      // the stock plugin sends isLegalTender 1 with the shop's fiat currency: a clear error for Exception($result['msg'])
      const fiat = await call(
        "POST",
        "/api/mer/payment/createPaymentOrder",
        phpJson({ ...params, outTradeNo: `${wcOrder}-fiat`, isLegalTender: 1, quoteCurrencySymbol: "USD" }),
      );
      assert.notEqual(fiat.env.code, 200);
      assert.match(fiat.env.msg, /fiat/);

      // the cron's poll: detail by both numbers, unencoded, as the plugin builds the path
      const polled = await call("GET", `/api/mer/payment/detail?outTradeNo=${wcOrder}&outPaymentNo=${outPaymentNo}`);
      hasFields(polled.env.data, FIELDS.payment, "payment");
      assert.equal(polled.env.data.paymentStatus, 1, "pending payment (5.1)");
      assert.equal(polled.env.data.quoteAmount, "10.00");
      assert.equal(polled.env.data.description, params.description);
      assert.equal(polled.env.data.expectedAmount, "10000000", "an integer string in the smallest unit (3)");

      // the chain's part: 10 USDT arrive and reach their confirmations
      for (const event of [
        { type: "transferSeen", amount: 10_000_000n },
        { type: "transferConfirmed", amount: 10_000_000n },
      ] as const) {
        await applyPaymentEvent(gw.db, { merchantId: 1n, ref: { merchantOrderId: wcOrder }, event, poolCooldownSeconds: 60 });
      }
      await until("the shop's acknowledged callback", async () => {
        const [e] = await gw.db.query(
          "SELECT count(*)::int AS n FROM outbox_events e JOIN payment_orders p ON p.id = e.aggregate_id WHERE p.merchant_order_id = $1 AND e.delivered_at IS NOT NULL AND NOT e.suppressed",
          [wcOrder],
        );
        return e!.n >= 1;
      });
      const callback = shop.got.find((g) => g.body.outTradeNo === wcOrder)!;
      assert.equal(callback.path, "/?wc-api=wc_gateway_crypto");
      assert.equal(callback.body.outPaymentNo, outPaymentNo);
      assert.equal(callback.body.paymentStatus, 0, "paid (4.2)");
      assert.equal(detailSeen.at(-1).paymentStatus, 0);
      // the quoted "success" stopped the retries: one delivery of the paid event
      const attempts = await gw.db.query(
        "SELECT a.http_status, a.error FROM webhook_attempts a JOIN payment_orders p ON p.id = a.aggregate_id WHERE p.merchant_order_id = $1",
        [wcOrder],
      );
      assert.equal(attempts.length, 1, JSON.stringify(attempts));
      assert.equal(attempts[0]!.http_status, 200);
      // the plugin answers "fail" for a repeat: that is retried, not acknowledged
      await call("GET", `/api/mer/payment/notify?outTradeNo=${wcOrder}`);
      await until(
        "the repeat's retries",
        async () =>
          (
            await gw.db.query(
              "SELECT 1 FROM webhook_attempts a JOIN payment_orders p ON p.id = a.aggregate_id WHERE p.merchant_order_id = $1",
              [wcOrder],
            )
          ).length >= 1,
      );
    });

    it("every payment route round trip, and the payment callback verified by an independent receiver equals payment/detail", async () => {
      const body = JSON.stringify({
        chainId: 31337,
        description: "conformance",
        outTradeNo: "CF-1",
        isLegalTender: 0,
        quoteCurrencySymbol: "USDT",
        quoteAmount: 25,
        notifyUrl,
      });
      const created = await call("POST", "/api/mer/payment/createPaymentOrder", body);
      assert.equal(created.env.code, 200, JSON.stringify(created.env));
      assert.equal(
        (await call("POST", "/api/mer/payment/createPaymentOrder", body)).env.data.outPaymentNo,
        created.env.data.outPaymentNo,
        "the same outTradeNo again: the same order",
      );
      const list = await call("GET", "/api/mer/payment/list?page=1&size=500&orderStatus=1");
      hasFields(list.env.data, FIELDS.page, "page");
      assert.ok(list.env.data.list.some((p: any) => p.outTradeNo === "CF-1"));
      const info = await call("GET", "/api/mer/payment/payInfo?outTradeNo=CF-1");
      hasFields(info.env.data, FIELDS.payInfo, "payInfo");
      assert.ok(info.env.data.countDown > 0 && info.env.data.countDown <= 1800);
      assert.equal(info.env.data.orgName, "Shop A");

      // payInfo/update: USDT on chain 137 (18 decimals); a partial payment first, which still counts
      await applyPaymentEvent(gw.db, {
        merchantId: 1n,
        ref: { merchantOrderId: "CF-1" },
        event: { type: "transferSeen", amount: 5_000_000n },
        poolCooldownSeconds: 60,
      });
      await applyPaymentEvent(gw.db, {
        merchantId: 1n,
        ref: { merchantOrderId: "CF-1" },
        event: { type: "transferConfirmed", amount: 5_000_000n },
        poolCooldownSeconds: 60,
      });
      const currencies = (await call("GET", "/api/mer/conf/list/currency?chainId=137")).env.data;
      const usdt137 = currencies.find((c: any) => c.symbol === "USDT");
      const moved = await call(
        "POST",
        "/api/mer/payment/payInfo/update",
        JSON.stringify({ chainId: 137, currencyId: usdt137.currencyId, outTradeNo: "CF-1" }),
      );
      assert.equal(moved.env.code, 200, JSON.stringify(moved.env));
      hasFields(moved.env.data, FIELDS.payInfoUpdate, "payInfo/update");
      assert.equal(moved.env.data.expectedAmount, "25000000000000000000", "25 USDT in 18 decimals");
      assert.notEqual(moved.env.data.userWalletAddress, created.env.data.userWalletAddress);
      const after = (await call("GET", "/api/mer/payment/detail?outTradeNo=CF-1")).env.data;
      assert.equal(after.chainId, 137);
      assert.equal(after.paidAmount, "5000000000000000000", "the 5 USDT received before still count");
      assert.equal(after.paymentStatus, 3, "partially paid");
      assert.equal(after.earlierChoices[0].paidAmount, "5000000");
      const other = currencies.find((c: any) => c.symbol !== "USDT");
      assert.notEqual(
        (
          await call(
            "POST",
            "/api/mer/payment/payInfo/update",
            JSON.stringify({ chainId: 137, currencyId: other.currencyId, outTradeNo: "CF-1" }),
          )
        ).env.code,
        200,
        "another symbol is not the same quote",
      );

      // the partial payment called back (paymentStatus 3, 4.2); wait for it and compare with detail
      await until("a verified payment callback for CF-1", () => independent.got.some((g) => g.body.outTradeNo === "CF-1"));
      const cb = independent.got.find((g) => g.body.outTradeNo === "CF-1")!;
      assert.ok(cb.payVerified, "X-PAY-SIGN: the request rule over the notify URL's path and query");
      assert.ok(cb.standardVerified, "the Standard Webhooks signature");
      assert.equal(cb.path, "/pay/callback?shop=7&lang=en");
      assert.equal(cb.headers["x-pay-key"], gw.merchants[0]!.apiKey);
      assert.match(String(cb.headers["x-pay-timestamp"]), /^\d{10}$/, "unix seconds");
      assert.equal(cb.headers["x-pay-event-id"], cb.headers["webhook-id"]);
      assert.equal(cb.headers["content-type"], "application/json");
      assert.ok(!cb.raw.includes("\n") && !cb.raw.includes(": "), "compact JSON");
      hasFields(cb.body, FIELDS.payment, "payment callback");
      // the callback is the object detail answers: compare it with detail read now (the order has not moved since)
      const [lastEvent] = await gw.db.query("SELECT id FROM outbox_events WHERE aggregate_id = $1 ORDER BY seq DESC LIMIT 1", [
        created.env.data.outPaymentNo,
      ]);
      await call("GET", "/api/mer/payment/notify?outTradeNo=CF-1");
      await until("the re-sent callback", () => independent.got.filter((g) => g.body.outTradeNo === "CF-1").length >= 2);
      const resent = independent.got.filter((g) => g.body.outTradeNo === "CF-1").at(-1)!;
      assert.equal(resent.headers["x-pay-event-id"], lastEvent!.id, "a re-send keeps the event id");
      assert.deepEqual(resent.body, (await call("GET", "/api/mer/payment/detail?outTradeNo=CF-1")).env.data, "callback body = detail");
      const notify = await call("GET", "/api/mer/payment/notify?outTradeNo=CF-1");
      assert.deepEqual(notify.env, { code: 200, msg: "success" }, "no data (3.8)");
    });

    it("refund routes (3.9-3.12) and the refund callback", async () => {
      const body = JSON.stringify({
        chainId: 31337,
        description: "to refund",
        outTradeNo: "CF-R",
        isLegalTender: 0,
        quoteCurrencySymbol: "USDT",
        quoteAmount: "8",
        notifyUrl,
      });
      const created = (await call("POST", "/api/mer/payment/createPaymentOrder", body)).env.data;
      for (const event of [
        { type: "transferSeen", amount: 8_000_000n },
        { type: "transferConfirmed", amount: 8_000_000n },
      ] as const) {
        await applyPaymentEvent(gw.db, { merchantId: 1n, ref: { merchantOrderId: "CF-R" }, event, poolCooldownSeconds: 60 });
      }
      const payer = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
      await gw.db.query("UPDATE payment_orders SET payer_address = $2 WHERE id = $1", [created.outPaymentNo, payer.toLowerCase()]);
      // amount and address optional: everything received, to the payer (3.9)
      const r = await call(
        "POST",
        "/api/mer/refund/createRefundOrder",
        JSON.stringify({ outTradeNo: "CF-R", outPaymentNo: created.outPaymentNo, notifyUrl }),
      );
      assert.equal(r.env.code, 200, JSON.stringify(r.env));
      assert.equal(typeof r.env.data.refundId, "number", "data.refundId int32");
      const detail = (await call("GET", `/api/mer/refund/detail?refundId=${r.env.data.refundId}`)).env.data;
      hasFields(detail, FIELDS.refund, "refund");
      assert.equal(detail.refundAmount, "8000000");
      assert.equal(detail.refundAddress, payer);
      assert.equal(detail.refundStatus, 1, "pending approval (5.2)");
      assert.match(detail.refundTime, TIME);
      assert.deepEqual((await call("GET", "/api/mer/refund/detail?outTradeNo=CF-R")).env.data, detail, "by outTradeNo alone");
      const list = (await call("GET", "/api/mer/refund/list?orderStatus=1")).env.data;
      hasFields(list, FIELDS.page, "refund page");
      assert.ok(list.list.some((x: any) => x.refundId === r.env.data.refundId));
      // rejected (5) calls back (4.3)
      const rejected = await call("POST", "/api/mer/refund/reject", JSON.stringify({ refundId: r.env.data.refundId }));
      assert.equal(rejected.env.data.refundStatus, 5);
      await until("the refund callback", () => independent.got.some((g) => g.body.refundId === r.env.data.refundId));
      const cb = independent.got.find((g) => g.body.refundId === r.env.data.refundId)!;
      assert.ok(cb.payVerified && cb.standardVerified);
      hasFields(cb.body, FIELDS.refund, "refund callback");
      assert.equal(cb.body.refundStatus, 5);
      assert.deepEqual((await call("GET", `/api/mer/refund/notify?refundId=${r.env.data.refundId}`)).env, { code: 200, msg: "success" });
    });

    it("user, recharge and withdrawal routes (3.13-3.19) and their callbacks", async () => {
      const userId = await call("POST", "/api/mer/user/create", JSON.stringify({ uuid: "USER10001" }));
      assert.equal(typeof userId.env.data, "number", "data: the integer user id (3.13)");
      const user = (await call("GET", "/api/mer/user/detail?uuid=USER10001")).env.data;
      hasFields(user, FIELDS.user, "user");
      assert.deepEqual((await call("GET", `/api/mer/user/detail?UUID=USER10001`)).env.data, user, "UUID or uuid (gap 9)");
      assert.equal(user.userType, 0, "recharge-type (5.5)");
      const wallet = user.userWallet.find((w: any) => w.chainId === 31337);
      // the chain's part: a confirmed deposit to the user's address becomes a recharge order
      const id = newId();
      await gw.db.query(
        `INSERT INTO recharge_orders (id, merchant_id, user_id, chain_id, token_address, amount, status, from_address, to_address, tx_hash, log_index, block_number, block_hash)
         VALUES ($1, 1, $2, 31337, $3, 10000000, 4, $4, $5, $6, 0, 7, $7)`,
        [
          id,
          user.userId,
          USDT.toLowerCase(),
          `0x${"ab".repeat(20)}`,
          wallet.walletAddress.toLowerCase(),
          `0x${"cd".repeat(32)}`,
          `0x${"ef".repeat(32)}`,
        ],
      );
      const page = (await call("GET", "/api/mer/recharge/list?UUID=USER10001&orderStatus=0")).env.data;
      hasFields(page, FIELDS.page, "recharge page");
      const rc = page.list[0];
      hasFields(rc, FIELDS.recharge, "recharge");
      assert.equal(rc.rechargeAmount, "10000000");
      assert.equal(rc.walletId, wallet.walletId);
      assert.deepEqual((await call("GET", `/api/mer/recharge/detail?rechargeId=${rc.rechargeId}`)).env.data, rc);
      // no recharge callback URL yet: the callback waits; once one is set it goes out
      assert.deepEqual((await call("GET", `/api/mer/recharge/notify?rechargeId=${rc.rechargeId}`)).env, { code: 200, msg: "success" });
      await until(
        "the waiting recharge callback",
        async () =>
          (await gw.db.query("SELECT 1 FROM outbox_events WHERE aggregate_id = $1 AND waiting_reason IS NOT NULL", [id])).length === 1,
      );
      assert.ok((await worker.metrics()).waitingEvents >= 1, "counted as waiting");
      await call("POST", "/api/mer/merchant/settings/update", JSON.stringify({ rechargeNotifyUrl: notifyUrl }));
      await until("the recharge callback", () => independent.got.some((g) => g.body.rechargeId === rc.rechargeId));
      const rcb = independent.got.find((g) => g.body.rechargeId === rc.rechargeId)!;
      assert.ok(rcb.payVerified && rcb.standardVerified);
      assert.deepEqual(rcb.body, rc, "callback body = detail");

      // a "Merchant Pro" withdrawal: two addresses and two amounts, paired 1:1 (3.17)
      const two = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65,0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
      const w = await call(
        "POST",
        "/api/mer/withdraw/apply",
        JSON.stringify({ chainId: 31337, currencyId: 2, withdrawAddress: two, withdrawAmount: "1.5,2.25", outTradeNo: "WD-1", notifyUrl }),
      );
      assert.equal(w.env.code, 200, JSON.stringify(w.env));
      assert.deepEqual(Object.keys(w.env.data), ["withdrawId"]);
      const wd = (await call("GET", `/api/mer/withdraw/detail?withdrawId=${w.env.data.withdrawId}`)).env.data;
      hasFields(wd, FIELDS.withdraw, "withdrawal");
      assert.equal(wd.withdrawAddress, two);
      assert.equal(wd.withdrawAmount, "1500000,2250000");
      assert.equal(wd.withdrawStatus, 1);
      assert.deepEqual((await call("GET", "/api/mer/withdraw/detail?outTradeNo=WD-1")).env.data, wd);
      hasFields((await call("GET", "/api/mer/withdraw/list?page=1&size=10")).env.data, FIELDS.page, "withdrawal page");
      await call("POST", "/api/mer/withdraw/reject", JSON.stringify({ withdrawId: w.env.data.withdrawId, reason: "test" }));
      await until("the withdrawal callback", () => independent.got.some((g) => g.body.withdrawId === w.env.data.withdrawId));
      const wcb = independent.got.find((g) => g.body.withdrawId === w.env.data.withdrawId)!;
      assert.ok(wcb.payVerified && wcb.standardVerified);
      assert.equal(wcb.body.withdrawStatus, 5, "rejected (4.5)");
      assert.deepEqual((await call("GET", `/api/mer/withdraw/notify?withdrawId=${w.env.data.withdrawId}`)).env, {
        code: 200,
        msg: "success",
      });
    });

    it("auth refusals and bad inputs change nothing and never answer 5xx", async () => {
      const A = gw.merchants[0]!;
      const before = await tableCounts(gw.db);
      const path = "/api/mer/payment/createPaymentOrder";
      const body = JSON.stringify({
        chainId: 31337,
        description: "x",
        outTradeNo: `BAD-${randomBytes(3).toString("hex")}`,
        isLegalTender: 0,
        quoteCurrencySymbol: "USDT",
        quoteAmount: "1",
        notifyUrl,
      });
      const now = Math.floor(Date.now() / 1000);
      const send = (headers: Record<string, string>, b = body, p = path) =>
        fetch(gw.url + p, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: b });
      const signed = (ts: number, secret = A.apiSecret, p = path, b = body) => ({
        "X-PAY-KEY": A.apiKey,
        "X-PAY-TIMESTAMP": String(ts),
        "X-PAY-SIGN": sign(secret, String(ts), "POST", p, b),
      });
      const cases: [string, Promise<Response>][] = [
        ["bad signature", send({ ...signed(now), "X-PAY-SIGN": Buffer.alloc(32).toString("base64") })],
        ["stale", send(signed(now - 61))],
        ["unknown key", send({ ...signed(now), "X-PAY-KEY": "nobody" })],
        ["another merchant's secret", send(signed(now, gw.merchants[1]!.apiSecret))],
        ["signed for another path", send(signed(now, A.apiSecret, "/api/mer/payment/cancel"))],
        ["signed for another body", send(signed(now, A.apiSecret, path, body.replace('"1"', '"2"')))],
        ["NUL byte", send(signed(now, A.apiSecret, path, body.replace('"x"', '"\\u0000"')), body.replace('"x"', '"\\u0000"'))],
        [
          "huge amount",
          send(signed(now, A.apiSecret, path, body.replace('"1"', `"${"9".repeat(90)}"`)), body.replace('"1"', `"${"9".repeat(90)}"`)),
        ],
        ["not JSON", send(signed(now, A.apiSecret, path, "{"), "{")],
      ];
      for (const [name, p] of cases) {
        const res = await p;
        assert.ok(res.status >= 400 && res.status < 500, `${name}: HTTP ${res.status}`);
        const env = (await res.json()) as Envelope;
        assert.ok(env.code >= 40000 && env.code < 50000, `${name}: ${JSON.stringify(env)}`);
      }
      // a replayed write (no business key): the same signed bytes twice
      const settings = JSON.stringify({ name: "Shop A" });
      const h = signed(now, A.apiSecret, "/api/mer/merchant/settings/update", settings);
      assert.equal((await send(h, settings, "/api/mer/merchant/settings/update")).status, 200);
      const replayed = await send(h, settings, "/api/mer/merchant/settings/update");
      assert.equal(replayed.status, 401);
      assert.equal(((await replayed.json()) as Envelope).code, 40105);
      const counts = await tableCounts(gw.db);
      assert.equal(counts.api_nonces, before.api_nonces + 1, "the accepted write's signature, nothing else");
      assert.deepEqual({ ...counts, api_nonces: 0 }, { ...before, api_nonces: 0 });
    });
  });
});
