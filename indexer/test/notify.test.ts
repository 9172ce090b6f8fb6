import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { Webhook } from "standardwebhooks";
import { verifyWebhook } from "../../sdk/src/index.js";
import { createSecretBox, type SecretBox } from "../src/crypto/secretBox.js";
import { paySignature } from "../src/crypto/signing.js";
import { newId } from "../src/domain/ids.js";
import { DEFAULT_RETRY_SCHEDULE_MS } from "../src/notify/backoff.js";
import {
  blockedReason,
  checkNotifyUrl,
  createOutboxWorker,
  WebhookTargetRefusedError,
  type CreateOutboxWorkerParameters,
} from "../src/notify/index.js";
import type { Db } from "../src/store/db.js";
import { createMerchant, type CreatedMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { insertOutboxEvent, requeueLatestEvent, type NewOutboxEvent } from "../src/store/outbox.js";
import { claimDueEvents, listWebhookLog } from "../src/store/webhooks.js";
import { call, PG_URL, postgresReachable, startGateway, testConfig, USDT, type Backend } from "./helpers.js";

type Reception = { id: string; status: number; at: number; body: any; answer: string };

/**
 * A merchant's callback endpoint on 127.0.0.1 that checks both signatures of every request it gets: Pay
 * Protocol's X-PAY-SIGN (the API secret over timestamp + "POST" + the path and query it was called on + body)
 * and the Standard Webhooks one (the whsec_ secret). It acknowledges with `success` unless told otherwise.
 */
async function startReceiver(m: { apiKey: string; apiSecret: string; webhookSecret: string }, port = 0) {
  const wh = new Webhook(m.webhookSecret);
  const received: Reception[] = [];
  const problems: string[] = [];
  let respond: (id: string, n: number) => number | { status: number; body: string } = () => 200;
  let delayMs = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const h = req.headers as Record<string, string>;
      try {
        wh.verify(body, {
          "webhook-id": h["webhook-id"]!,
          "webhook-timestamp": h["webhook-timestamp"]!,
          "webhook-signature": h["webhook-signature"]!,
        });
      } catch (e) {
        problems.push(`standardwebhooks: ${(e as Error).message}`);
      }
      const expected = paySignature(m.apiSecret, { timestamp: h["x-pay-timestamp"]!, method: "POST", requestPath: req.url!, body });
      if (h["x-pay-sign"] !== expected) problems.push(`X-PAY-SIGN mismatch for ${h["x-pay-event-id"]}`);
      if (h["x-pay-key"] !== m.apiKey) problems.push(`X-PAY-KEY ${h["x-pay-key"]}`);
      if (h["x-pay-event-id"] !== h["webhook-id"] || h["x-pay-timestamp"] !== h["webhook-timestamp"]) problems.push("header sets disagree");
      const id = h["x-pay-event-id"]!;
      const r = respond(id, received.filter((x) => x.id === id).length);
      const answer = typeof r === "number" ? { status: r, body: r >= 200 && r < 300 ? "success" : "failed" } : r;
      received.push({ id, status: answer.status, at: Date.now(), body: JSON.parse(body), answer: answer.body });
      setTimeout(() => res.writeHead(answer.status, { "content-type": "text/plain" }).end(answer.body), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/hook`,
    port: actual,
    received,
    problems,
    delivered: () => received.filter((r) => r.status >= 200 && r.status < 300 && (r.answer === "success" || r.answer === '"success"')),
    setRespond(f: typeof respond) {
      respond = f;
    },
    setDelay(ms: number) {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function notifySuite(backend: Backend) {
  describe(`webhook notifier (${backend})`, () => {
    let db: Db;
    let box: SecretBox;
    let masterKey: Buffer;
    let m: CreatedMerchant;
    let schema = "";
    let orderSeq = 0;
    const workers: { stop(): Promise<void> }[] = [];
    const config = testConfig();

    before(async () => {
      masterKey = randomBytes(32);
      box = createSecretBox(masterKey);
      schema = `notify_test_${Date.now()}_${randomBytes(3).toString("hex")}`;
      db =
        backend === "pglite" ? await openStore({ pgliteDir: "memory://" }) : await openStore({ databaseUrl: PG_URL, schema, poolSize: 10 });
      m = await createMerchant(db, box, { name: "Hook shop", id: 1n });
      // the delivery mechanics below send every event; which events are callbacks is tested on its own
      await db.query("UPDATE merchants SET callback_all_events = true WHERE id = $1", [m.merchantId]);
    });
    // a worker left running by a failed test would take the next tests' events
    afterEach(async () => {
      for (const w of workers.splice(0)) await w.stop();
    });
    after(async () => {
      if (backend === "postgres") await db.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
      await db.close();
    });

    const worker = (over: Partial<CreateOutboxWorkerParameters> = {}) => {
      const w = createOutboxWorker({
        db,
        config,
        box,
        allowPrivateTargets: true,
        retryScheduleMs: [20, 20, 20],
        pollIntervalMs: 5,
        timeoutMs: 2000,
        waitMs: 50,
        ...over,
      });
      workers.push(w);
      return w;
    };
    /** A payment order row with this notify URL (the API's own checks are not the subject here). */
    async function order(notifyUrl: string): Promise<string> {
      const id = newId();
      await db.query(
        `INSERT INTO payment_orders (id, merchant_id, merchant_order_id, request_hash, chain_id, token_address, token_symbol,
           token_decimals, amount, notify_url, access_sign, expires_at, quote_symbol, quote_amount)
         VALUES ($1, $2, $3, 'h', 31337, $4, 'USDT', 6, 1000000, $5, 'A', now() + interval '1 hour', 'USDT', '1')`,
        [id, m.merchantId, `mo-${++orderSeq}`, USDT.toLowerCase(), notifyUrl],
      );
      return id;
    }
    async function event(
      aggregateId: string,
      type = "payment.status",
      kind: NewOutboxEvent["aggregateKind"] = "payment",
      payload: Record<string, unknown> = {},
    ): Promise<string> {
      const id = newId();
      await db.transaction((tx) =>
        insertOutboxEvent(tx, { id, merchantId: m.merchantId, aggregateKind: kind, aggregateId, type, payload }),
      );
      return id;
    }
    const eventRow = async (id: string) => (await db.query("SELECT * FROM outbox_events WHERE id = $1", [id]))[0]!;
    let users = 0;
    /** A user's recharge order row (as the chain follower writes one); returns its id. */
    async function recharge(): Promise<string> {
      const uuid = `u-${++users}`;
      const [u] = await db.query<{ id: string }>("INSERT INTO users (merchant_id, user_no, uuid) VALUES ($1, $2, $3) RETURNING id::text", [
        m.merchantId,
        1000 + users,
        uuid,
      ]);
      const id = newId();
      await db.query(
        `INSERT INTO recharge_orders (id, merchant_id, user_id, chain_id, token_address, amount, status, from_address, to_address, tx_hash, log_index, block_number, block_hash)
         VALUES ($1, $2, $3, 31337, $4, 700, 4, $5, $5, $6, 0, 1, $6)`,
        [id, m.merchantId, u!.id, USDT.toLowerCase(), `0x${"1".repeat(40)}`, `0x${users.toString(16).padStart(64, "0")}`],
      );
      return id;
    }

    it("sends the order's object, signed so that X-PAY-SIGN (API secret, path and query) and the standardwebhooks library verify", async () => {
      const rx = await startReceiver(m);
      try {
        const o = await order(rx.url);
        const id = await event(o, "payment.success");
        const w = worker();
        assert.equal(await w.runOnce(), 1);
        assert.deepEqual(rx.problems, []);
        assert.equal(rx.received.length, 1);
        const r = rx.received[0]!;
        assert.equal(r.id, id);
        assert.equal(r.body.outPaymentNo, o, "the body is the payment object, as payment/detail answers it");
        assert.equal(r.body.paymentStatus, 1);
        assert.equal(r.body.expectedAmount, "1000000");
        assert.ok((await eventRow(id)).delivered_at, "marked delivered");
        assert.equal(await w.runOnce(), 0, "nothing left to send");
        const metrics = await w.metrics();
        assert.equal(metrics.deliveredTotal, 1);
        assert.equal(metrics.dueEvents, 0);
      } finally {
        await rx.close();
      }
    });

    it("the SDK's verifyWebhook accepts what the notifier sends; a wrong secret fails standardwebhooks", async () => {
      const other = "whsec_" + randomBytes(32).toString("base64");
      const rx = await startReceiver({ ...m, webhookSecret: other, apiSecret: `sk_${randomBytes(8).toString("hex")}` });
      let headers: http.IncomingHttpHeaders = {};
      let raw = "";
      let path = "";
      const server = http.createServer((req, res) => {
        headers = req.headers;
        path = req.url!;
        req.on("data", (c) => (raw += c));
        req.on("end", () => res.writeHead(200).end("success"));
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      try {
        const o = await order(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x?token=abc`);
        const id = await event(o);
        await worker().runOnce();
        assert.equal(path, "/x?token=abc");
        const h = headers as Record<string, string>;
        assert.equal(verifyWebhook({ secret: m.webhookSecret, headers: h, body: raw }).eventId, id);
        const byPay = verifyWebhook<{ outPaymentNo: string }>({ apiSecret: m.apiSecret, requestPath: path, headers: h, body: raw });
        assert.equal(byPay.verifiedBy, "x-pay-sign");
        assert.equal(byPay.data.outPaymentNo, o);
        assert.throws(
          () => verifyWebhook({ apiSecret: m.apiSecret, requestPath: "/x?token=abd", headers: h, body: raw }),
          /does not match/,
          "another path",
        );
        // the same request, checked with another merchant's secret, fails both ways
        const o2 = await order(rx.url);
        await event(o2);
        await worker().runOnce();
        assert.equal(rx.received.length, 1);
        assert.equal(rx.problems.length, 2, rx.problems.join("; "));
      } finally {
        await rx.close();
        await new Promise<void>((r) => server.close(() => r()));
      }
    });

    it("keeps the event id across retries and a manual re-send, and logs every attempt with its status", async () => {
      const rx = await startReceiver(m);
      try {
        rx.setRespond((_id, n) => (n === 0 ? 500 : 200));
        const o = await order(rx.url);
        const id = await event(o);
        // a backoff long enough that a busy machine still asks again inside it
        const w = worker({ retryScheduleMs: [500] });
        assert.equal(await w.runOnce(), 1);
        assert.equal(await w.runOnce(), 0, "the retry waits for its backoff");
        await sleep(520);
        assert.equal(await w.runOnce(), 1);
        assert.equal(await db.transaction((tx) => requeueLatestEvent(tx, "payment", o)), id);
        assert.equal(await w.runOnce(), 1);
        assert.deepEqual(
          rx.received.map((r) => [r.id, r.status]),
          [
            [id, 500],
            [id, 200],
            [id, 200],
          ],
        );
        const log = await listWebhookLog(db, { merchantId: m.merchantId, aggregateKind: "payment", aggregateId: o });
        assert.deepEqual(
          log.attempts.map((a) => [a.eventId, a.attemptNo, a.httpStatus, a.url]),
          [
            [id, 1, 500, rx.url],
            [id, 2, 200, rx.url],
            [id, 3, 200, rx.url],
          ],
        );
        assert.match(log.attempts[0]!.error!, /HTTP 500 with "failed": not the acknowledgement "success"/);
        assert.equal(log.events[0]!.status, "delivered");
        assert.deepEqual(rx.problems, []);
      } finally {
        await rx.close();
      }
    });

    it("a rotated webhook secret signs the very next delivery", async () => {
      const fresh = "whsec_" + randomBytes(32).toString("base64");
      const oldRx = await startReceiver(m);
      const newRx = await startReceiver({ ...m, webhookSecret: fresh });
      try {
        const w = worker();
        await event(await order(oldRx.url));
        await w.runOnce();
        await db.query("UPDATE merchants SET webhook_secret_enc = $2 WHERE id = $1", [m.merchantId, box.seal(fresh)]);
        await event(await order(newRx.url));
        await w.runOnce();
        assert.equal(oldRx.received.length, 1);
        assert.equal(newRx.received.length, 1);
        assert.deepEqual([...oldRx.problems, ...newRx.problems], []);
      } finally {
        await db.query("UPDATE merchants SET webhook_secret_enc = $2 WHERE id = $1", [m.merchantId, box.seal(m.webhookSecret)]);
        await oldRx.close();
        await newRx.close();
      }
    });

    it("recharge events go to the merchant's recharge callback URL", async () => {
      const rx = await startReceiver(m);
      try {
        await db.query("UPDATE merchants SET recharge_notify_url = $1 WHERE id = $2", [rx.url, m.merchantId]);
        const rc = await recharge();
        const id = await event(rc, "recharge.status_changed", "recharge", { from: 3, status: 4 });
        await worker().runOnce();
        assert.deepEqual(
          rx.delivered().map((r) => r.id),
          [id],
        );
        assert.equal(rx.received[0]!.body.rechargeStatus, 0);
        assert.equal(rx.received[0]!.body.rechargeAmount, "700");
      } finally {
        await rx.close();
      }
    });

    it("endpoint refusing connections, then answering 500, then up: every event delivered once, in order per order", async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/hook`;
      const orders = [await order(url), await order(url), await order(url), await order(url)];
      const expected = new Map<string, string[]>(orders.map((o) => [o, []]));
      for (let i = 0; i < 4; i++) for (const o of orders) expected.get(o)!.push(await event(o, `payment.step${i}`));
      const w = worker({ retryScheduleMs: [15, 15, 30, 30, 60, 60, 120, 120, 240, 240, 480, 480] });
      w.start();
      await sleep(120); // connection refused meanwhile
      const rx = await startReceiver(m, port);
      try {
        const upAt = Date.now() + 400;
        rx.setRespond(() => (Date.now() < upAt ? 500 : 200));
        const all = [...expected.values()].flat();
        await waitFor("all delivered", async () => {
          const [r] = await db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM outbox_events WHERE id = ANY($1) AND delivered_at IS NOT NULL",
            [all],
          );
          return r!.n === all.length;
        });
        await w.stop();
        assert.deepEqual(rx.problems, []);
        const ok = rx.delivered();
        assert.equal(ok.length, all.length, "each event answered 2xx exactly once");
        for (const [o, ids] of expected) {
          assert.deepEqual(
            ok.filter((r) => r.body.outPaymentNo === o).map((r) => r.id),
            ids,
            `order ${o} in order`,
          );
        }
        // no event was sent while an earlier event of its order was still undelivered
        for (const r of rx.received) {
          const ids = [...expected.values()].find((l) => l.includes(r.id))!;
          const earlier = ids.slice(0, ids.indexOf(r.id));
          for (const e of earlier)
            assert.ok(
              ok.some((d) => d.id === e && d.at <= r.at),
              `${r.id} sent before ${e} was delivered`,
            );
        }
        const errors = await db.query<{ error: string | null; http_status: number | null }>(
          "SELECT error, http_status FROM webhook_attempts WHERE event_id = ANY($1)",
          [all],
        );
        assert.ok(
          errors.some((a) => /ECONNREFUSED/.test(a.error ?? "")),
          "connection refused attempts logged",
        );
        assert.ok(
          errors.some((a) => a.http_status === 500),
          "500 attempts logged",
        );
      } finally {
        await w.stop();
        await rx.close();
      }
    });

    it("follows the retry schedule, marks the event dead after the last attempt, and notify re-sends it", async () => {
      const rx = await startReceiver(m);
      try {
        rx.setRespond(() => 503);
        const schedule = [100, 200, 300];
        const o = await order(rx.url);
        const id = await event(o);
        const w = worker({ retryScheduleMs: schedule, pollIntervalMs: 5 });
        w.start();
        await waitFor(
          "dead",
          async () => (await listWebhookLog(db, { merchantId: m.merchantId, eventId: id })).events[0]!.status === "dead",
        );
        await sleep(400);
        assert.equal(rx.received.length, 4, "one attempt plus one per delay, then no more");
        for (let i = 0; i < schedule.length; i++) {
          const gap = rx.received[i + 1]!.at - rx.received[i]!.at;
          assert.ok(gap >= schedule[i]! - 5 && gap <= schedule[i]! + 300, `gap ${i}: ${gap} ms for a ${schedule[i]} ms delay`);
        }
        assert.equal((await w.metrics()).deadTotal, 1);
        // a dead event does not block the next event of its order
        rx.setRespond(() => 200);
        const next = await event(o, "payment.next");
        await waitFor("next delivered", () => rx.delivered().some((r) => r.id === next));
        // the re-send of the dead event (payment/notify re-queues the latest, so requeue it by hand here)
        await db.query("UPDATE outbox_events SET next_attempt_at = now(), delivered_at = NULL WHERE id = $1", [id]);
        await waitFor(
          "re-sent",
          async () => (await listWebhookLog(db, { merchantId: m.merchantId, eventId: id })).events[0]!.status === "delivered",
        );
        assert.equal(rx.delivered().filter((r) => r.id === id).length, 1);
        const log = await listWebhookLog(db, { merchantId: m.merchantId, eventId: id });
        assert.deepEqual(
          log.attempts.map((a) => a.attemptNo),
          [1, 2, 3, 4, 5],
        );
        assert.equal(log.events[0]!.status, "delivered");
        await w.stop();
      } finally {
        await rx.close();
      }
    });

    it("a later event waits while an earlier event of the same order is being retried", async () => {
      const rx = await startReceiver(m);
      try {
        const o = await order(rx.url);
        const first = await event(o, "payment.first");
        const second = await event(o, "payment.second");
        const elsewhere = await event(await order(rx.url), "payment.other");
        rx.setRespond((id, n) => (id === first && n < 2 ? 500 : 200));
        const w = worker({ retryScheduleMs: [25, 25] });
        await w.runOnce();
        assert.deepEqual(rx.received.map((r) => r.id).sort(), [first, elsewhere].sort(), "other orders are not held up");
        await waitFor("both", async () => {
          await w.runOnce();
          return rx.delivered().some((r) => r.id === second);
        });
        assert.deepEqual(
          rx.received.map((r) => r.id).filter((i) => i !== elsewhere),
          [first, first, first, second],
        );
      } finally {
        await rx.close();
      }
    });

    it("a crashed worker's claim expires after its lease and another worker sends the event (next attempt number)", async () => {
      const rx = await startReceiver(m);
      try {
        const o = await order(rx.url);
        const id = await event(o);
        const claimed = await claimDueEvents(db, { limit: 10, leaseMs: 150, claimToken: "crashed" });
        assert.deepEqual(
          claimed.map((e) => e.id),
          [id],
        );
        const w = worker();
        assert.equal(await w.runOnce(), 0, "claimed by the crashed worker");
        await sleep(170);
        assert.equal(await w.runOnce(), 1);
        assert.deepEqual(
          rx.delivered().map((r) => r.id),
          [id],
        );
        assert.deepEqual(
          (await listWebhookLog(db, { merchantId: m.merchantId, eventId: id })).attempts.map((a) => a.attemptNo),
          [2],
        );
      } finally {
        await rx.close();
      }
    });

    it("refuses loopback, private and link-local targets unless allowed, and logs why", async () => {
      const rx = await startReceiver(m);
      try {
        const urls = [
          `http://127.0.0.1:${rx.port}/hook`,
          "http://10.1.2.3:9/hook",
          `http://[::1]:${rx.port}/hook`,
          `http://[::ffff:127.0.0.1]:${rx.port}/hook`,
          `http://localhost:${rx.port}/hook`,
          "http://169.254.169.254/latest/meta-data",
        ];
        const ids: string[] = [];
        for (const u of urls) ids.push(await event(await order(u)));
        const w = worker({ allowPrivateTargets: false });
        assert.equal(await w.runOnce(), urls.length);
        assert.equal(rx.received.length, 0, "nothing reached the local server");
        for (const [i, id] of ids.entries()) {
          const log = await listWebhookLog(db, { merchantId: m.merchantId, eventId: id });
          assert.equal(log.attempts.length, 1);
          assert.match(log.attempts[0]!.error!, /refused.*allowPrivateWebhookTargets/, urls[i]);
          assert.match(log.attempts[0]!.error!, /loopback|private|link-local/, urls[i]);
          assert.equal(log.attempts[0]!.httpStatus, null);
          assert.equal(log.events[0]!.status, "dead", "a refused target is not retried (notify re-sends it)");
        }
        assert.equal((await w.metrics()).refusedTotal, urls.length);
      } finally {
        await rx.close();
      }
    });

    it("keeps a re-send that arrives while the attempt is in flight, and times out a silent endpoint", async () => {
      const rx = await startReceiver(m);
      try {
        rx.setDelay(150);
        const o = await order(rx.url);
        const id = await event(o);
        const w = worker({ timeoutMs: 1000 });
        const round = w.runOnce();
        await waitFor("in flight", () => rx.received.length === 1);
        await db.transaction((tx) => requeueLatestEvent(tx, "payment", o));
        await round;
        assert.equal((await eventRow(id)).delivered_at, null, "the re-send is still due");
        rx.setDelay(0);
        assert.equal(await w.runOnce(), 1);
        assert.deepEqual(
          rx.delivered().map((r) => r.id),
          [id, id],
        );

        rx.setDelay(2000);
        const slow = await event(await order(rx.url));
        const quick = worker({ timeoutMs: 100, retryScheduleMs: [10_000] });
        const t0 = Date.now();
        await quick.runOnce();
        assert.ok(Date.now() - t0 < 1000, "the attempt ended at its timeout");
        const [a] = (await listWebhookLog(db, { merchantId: m.merchantId, eventId: slow })).attempts;
        assert.match(a!.error!, /no complete answer within 100 ms/);
        assert.equal(a!.httpStatus, null);
      } finally {
        await rx.close();
      }
    });

    it("settlement and withdrawal events use their notify URL, or else the merchant's callback URL", async () => {
      const rx = await startReceiver(m);
      try {
        await db.query("UPDATE merchants SET recharge_notify_url = $1 WHERE id = $2", [`${rx.url}?merchant`, m.merchantId]);
        const sid = newId();
        const [s] = await db.query<{ no: string }>(
          `INSERT INTO settlement_orders (id, merchant_id, merchant_settlement_id, request_hash, chain_id, token_address, amount, to_address,
             payout_id, payout_deadline, notify_url)
           VALUES ($1, $2, $1, 'h', 31337, $3, 5, $3, 9001, now() + interval '1 day', $4) RETURNING settlement_no::text AS no`,
          [sid, m.merchantId, USDT.toLowerCase(), `${rx.url}?settlement`],
        );
        const e1 = await event(s!.no, "settlement.status_changed", "settlement");
        const e2 = await event("W-none", "withdrawal.status_changed", "withdrawal");
        const [w] = await db.query<{ id: string }>(
          "INSERT INTO withdrawals (merchant_id, request_hash, chain_id, token_address) VALUES ($1, 'h', 31337, $2) RETURNING id::text",
          [m.merchantId, USDT.toLowerCase()],
        );
        await db.query(
          `INSERT INTO withdrawal_orders (id, merchant_id, withdraw_id, line_no, request_hash, chain_id, token_address, amount, to_address, payout_id, payout_deadline)
           VALUES ($1, $2, $3, 1, 'h', 31337, $4, 5, $4, 9002, now() + interval '1 day')`,
          [newId(), m.merchantId, w!.id, USDT.toLowerCase()],
        );
        const e3 = await event(w!.id, "withdrawal.status_changed", "withdrawal");
        await worker().runOnce();
        const log1 = await listWebhookLog(db, { merchantId: m.merchantId, eventId: e1 });
        assert.equal(log1.attempts[0]!.url, `${rx.url}?settlement`);
        assert.equal(log1.attempts[0]!.httpStatus, 200);
        assert.equal(rx.received.find((r) => r.id === e1)!.body.settlementId, Number(s!.no));
        const log2 = await listWebhookLog(db, { merchantId: m.merchantId, eventId: e2 });
        assert.match(log2.attempts[0]!.error!, /no withdrawal W-none/, "an event of an unknown order is logged and dead");
        assert.equal(log2.events[0]!.status, "dead");
        const log3 = await listWebhookLog(db, { merchantId: m.merchantId, eventId: e3 });
        assert.equal(log3.attempts[0]!.url, `${rx.url}?merchant`, "a withdrawal without its own URL: the merchant's");
        assert.equal(rx.received.find((r) => r.id === e3)!.body.withdrawId, Number(w!.id));
      } finally {
        await rx.close();
      }
    });

    if (backend === "postgres") {
      /** A worker in its own process on the test schema; prints its metrics on SIGTERM. */
      const spawnWorker = (leaseMs: number) => {
        const code = `
          const src = ${JSON.stringify(new URL("../src/", import.meta.url).pathname)};
          const { createDb } = await import(src + "store/db.ts");
          const { createSecretBox } = await import(src + "crypto/secretBox.ts");
          const { createOutboxWorker } = await import(src + "notify/outboxWorker.ts");
          const db = await createDb({ databaseUrl: process.env.PG_URL, schema: process.env.SCHEMA, poolSize: 4 });
          const w = createOutboxWorker({ db, config: JSON.parse(process.env.WIRE_CONFIG), box: createSecretBox(Buffer.from(process.env.MASTER_KEY, "hex")), allowPrivateTargets: true,
            batchSize: 8, pollIntervalMs: 2, leaseMs: ${leaseMs}, timeoutMs: 2000, retryScheduleMs: [20] });
          w.start();
          process.on("SIGTERM", async () => { await w.stop(); process.stdout.write(JSON.stringify(await w.metrics()) + "\\n"); await db.close(); process.exit(0); });
          process.stdout.write("ready\\n");`;
        const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
          env: {
            ...process.env,
            PG_URL,
            SCHEMA: schema,
            MASTER_KEY: masterKey.toString("hex"),
            WIRE_CONFIG: JSON.stringify({ chains: config.chains, payPageUrl: config.payPageUrl }),
          },
          stdio: ["ignore", "pipe", "inherit"],
        });
        let out = "";
        child.stdout!.on("data", (c) => (out += c));
        const exited = new Promise<void>((r) => child.on("exit", () => r()));
        return {
          child,
          ready: () => waitFor("worker process ready", () => out.includes("ready"), 30_000),
          async stop(): Promise<{ deliveredTotal: number }> {
            child.kill("SIGTERM");
            await exited;
            return JSON.parse(out.trim().split("\n").at(-1)!);
          },
          kill: async () => {
            child.kill("SIGKILL");
            await exited;
          },
        };
      };
      async function manyEvents(url: string, nOrders: number, perOrder: number) {
        const orders: string[] = [];
        for (let i = 0; i < nOrders; i++) orders.push(await order(url));
        const ids: string[] = [];
        for (let k = 0; k < perOrder; k++) for (const o of orders) ids.push(await event(o, `payment.s${k}`));
        return { orders, ids };
      }

      it("two worker processes on one PostgreSQL deliver each event exactly once, in order per order", async () => {
        const rx = await startReceiver(m);
        const a = spawnWorker(40_000);
        const b = spawnWorker(40_000);
        try {
          await Promise.all([a.ready(), b.ready()]);
          rx.setDelay(2); // both processes' rounds overlap
          const { orders, ids } = await manyEvents(rx.url, 30, 10);
          await waitFor("all delivered", () => new Set(rx.delivered().map((r) => r.id)).size === ids.length, 60_000);
          await sleep(100);
          const [ma, mb] = await Promise.all([a.stop(), b.stop()]);
          assert.equal(rx.received.length, ids.length, "receptions: one per event");
          assert.equal(ma.deliveredTotal + mb.deliveredTotal, ids.length);
          assert.ok(ma.deliveredTotal > 0 && mb.deliveredTotal > 0, `both worked: ${ma.deliveredTotal} + ${mb.deliveredTotal}`);
          const [n] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_attempts WHERE event_id = ANY($1)", [ids]);
          assert.equal(n!.n, ids.length, "one logged attempt per event");
          for (const o of orders) {
            const got = rx.received.filter((r) => r.body.outPaymentNo === o).map((r) => r.id);
            assert.deepEqual(got, [...got].sort(), "event ids (created in order) arrive in order");
            assert.equal(got.length, 10);
          }
        } finally {
          await a.kill().catch(() => {});
          await b.kill().catch(() => {});
          await rx.close();
        }
      });

      it("a worker process killed with SIGKILL mid-delivery: the other takes over its claims after the lease, nothing is lost", async () => {
        const rx = await startReceiver(m);
        // the lease must outlast an attempt (timeoutMs 2000): a shorter one lets the surviving worker re-claim
        // its own slow claims on a loaded machine and send them twice (seen: 105 logged 2xx for 100 events)
        const a = spawnWorker(5000);
        const b = spawnWorker(5000);
        try {
          await Promise.all([a.ready(), b.ready()]);
          rx.setDelay(20);
          const { ids } = await manyEvents(rx.url, 20, 5);
          await waitFor("some delivered", () => rx.received.length >= 20, 30_000);
          await a.kill();
          await waitFor(
            "all delivered",
            async () => {
              const [r] = await db.query<{ n: number }>(
                "SELECT count(*)::int AS n FROM outbox_events WHERE id = ANY($1) AND delivered_at IS NOT NULL",
                [ids],
              );
              return r!.n === ids.length;
            },
            60_000,
          );
          await b.stop();
          const counts = new Map<string, number>();
          for (const r of rx.received) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
          assert.equal(counts.size, ids.length, "every event received");
          const twice = [...counts.values()].filter((c) => c > 1).length;
          assert.ok(twice <= 8, `only the killed worker's in-flight batch (<= 8) may be received twice: ${twice}`);
          // the ledger shows one 2xx attempt per event, each with its own attempt number
          const rows = await db.query<{ event_id: string; attempt_no: number }>(
            "SELECT event_id, attempt_no FROM webhook_attempts WHERE event_id = ANY($1) AND http_status = 200",
            [ids],
          );
          assert.equal(rows.length, ids.length);
        } finally {
          await a.kill().catch(() => {});
          await b.kill().catch(() => {});
          await rx.close();
        }
      });
    }
  });

  describe(`callbacks as Pay Protocol sends them (${backend})`, () => {
    it("sends only the status changes Pay Protocol calls back on; suppresses the rest; callbackAllEvents and a re-send send them too", async () => {
      const gw = await startGateway(backend, { allowPrivateWebhookTargets: true });
      const [A] = gw.merchants as [CreatedMerchant];
      const rx = await startReceiver(A);
      const w = createOutboxWorker({
        db: gw.db,
        config: gw.config,
        box: createSecretBox(gw.config.masterKey),
        allowPrivateTargets: true,
        pollIntervalMs: 5,
      });
      const drain = async () => {
        while ((await w.runOnce()) > 0);
      };
      try {
        const ok = await call(gw, A, "POST", "payment/createPaymentOrder", {
          chainId: 31337,
          outTradeNo: "cb-1",
          quoteCurrencySymbol: "USDT",
          quoteAmount: "2",
          notifyUrl: rx.url,
        });
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        const { applyPaymentEvent } = await import("../src/store/paymentOrders.js");
        const move = (event: any) =>
          applyPaymentEvent(gw.db, { merchantId: 1n, ref: { merchantOrderId: "cb-1" }, event, poolCooldownSeconds: 60 });
        await move({ type: "transferSeen", amount: 2_000_000n }); // 0 -> 2: block confirmation, no callback
        await move({ type: "confirming" }); // 2 -> 3: still block confirmation
        await drain();
        assert.equal(rx.received.length, 0, "no callback for block confirmation");
        const log = (await call(gw, A, "GET", "webhook/attempts", { outTradeNo: "cb-1" })).body.data;
        assert.deepEqual(
          log.events.map((e: any) => e.status),
          ["suppressed", "suppressed"],
        );
        assert.deepEqual(log.attempts, [], "a suppressed event makes no attempt");
        await move({ type: "transferConfirmed", amount: 2_000_000n }); // 3 -> 4: paid
        await drain();
        assert.deepEqual(
          rx.delivered().map((r) => r.body.paymentStatus),
          [0],
          "one callback: paid",
        );
        assert.deepEqual(rx.problems, []);
        // payment/notify sends the latest event again (forced), under its id
        const last = rx.received[0]!.id;
        assert.equal((await call(gw, A, "GET", "payment/notify", { outTradeNo: "cb-1" })).status, 200);
        await drain();
        assert.deepEqual(
          rx.received.map((r) => r.id),
          [last, last],
        );
        // with callbackAllEvents every event goes out
        assert.equal(
          (await call(gw, A, "POST", "merchant/settings/update", { callbackAllEvents: true })).body.data.callbackAllEvents,
          true,
        );
        await call(gw, A, "POST", "payment/createPaymentOrder", {
          chainId: 31337,
          outTradeNo: "cb-2",
          quoteCurrencySymbol: "USDT",
          quoteAmount: "2",
          notifyUrl: rx.url,
        });
        await applyPaymentEvent(gw.db, {
          merchantId: 1n,
          ref: { merchantOrderId: "cb-2" },
          event: { type: "transferSeen", amount: 2_000_000n },
          poolCooldownSeconds: 60,
        });
        await drain();
        assert.deepEqual(
          rx.received.filter((r) => r.body.outTradeNo === "cb-2").map((r) => r.body.paymentStatus),
          [2],
        );
      } finally {
        await w.stop();
        await rx.close();
        await gw.close();
      }
    });

    it('acknowledged by success or "success" only: another answer is retried; the body equals payment/detail', async () => {
      const gw = await startGateway(backend, { allowPrivateWebhookTargets: true });
      const [A] = gw.merchants as [CreatedMerchant];
      const rx = await startReceiver(A);
      const w = createOutboxWorker({
        db: gw.db,
        config: gw.config,
        box: createSecretBox(gw.config.masterKey),
        allowPrivateTargets: true,
        retryScheduleMs: [1, 1, 1, 1, 1, 1],
        pollIntervalMs: 5,
      });
      try {
        const answers = [
          { status: 200, body: "ok" },
          { status: 204, body: "" },
          { status: 200, body: "SUCCESS!" },
          { status: 500, body: "success" },
          { status: 200, body: '"success"' },
        ];
        rx.setRespond((_id, n) => answers[n] ?? { status: 200, body: "success" });
        await call(gw, A, "POST", "payment/createPaymentOrder", {
          chainId: 31337,
          outTradeNo: "ack-1",
          quoteCurrencySymbol: "USDT",
          quoteAmount: "3",
          notifyUrl: `${rx.url}?order=ack-1`,
        });
        await call(gw, A, "POST", "payment/cancel", { outTradeNo: "ack-1" });
        await waitFor("acknowledged", async () => {
          await w.runOnce();
          return rx.delivered().length === 1;
        });
        assert.deepEqual(
          rx.received.map((r) => r.answer),
          ["ok", "", "SUCCESS!", "success", '"success"'],
          "retried until a real acknowledgement",
        );
        const log = (await call(gw, A, "GET", "webhook/attempts", { outTradeNo: "ack-1" })).body.data;
        assert.deepEqual(
          log.attempts.map((a: any) => a.httpStatus),
          [200, 204, 200, 500, 200],
        );
        assert.match(log.attempts[0].error, /not the acknowledgement "success"/);
        assert.equal(log.events.at(-1).status, "delivered");
        const detail = (await call(gw, A, "GET", "payment/detail", { outTradeNo: "ack-1" })).body.data;
        assert.deepEqual(rx.received.at(-1)!.body, detail, "the callback is the object payment/detail answers");
        assert.deepEqual(rx.problems, []);
      } finally {
        await w.stop();
        await rx.close();
        await gw.close();
      }
    });

    it("a recharge callback with no callback URL waits (logged once, counted, in health) and goes out when the URL is set", async () => {
      const gw = await startGateway(backend, { allowPrivateWebhookTargets: true });
      const [A] = gw.merchants as [CreatedMerchant];
      const rx = await startReceiver(A);
      const w = createOutboxWorker({
        db: gw.db,
        config: gw.config,
        box: createSecretBox(gw.config.masterKey),
        allowPrivateTargets: true,
        pollIntervalMs: 5,
        waitMs: 30,
      });
      try {
        const userId = (await call(gw, A, "POST", "user/create", { uuid: "waiting-user" })).body.data;
        const id = newId();
        await gw.db.query(
          `INSERT INTO recharge_orders (id, merchant_id, user_id, chain_id, token_address, amount, status, from_address, to_address, tx_hash, log_index, block_number, block_hash)
           VALUES ($1, 1, $2, 31337, $3, 9, 4, $4, $4, $5, 0, 1, $5)`,
          [id, userId, USDT.toLowerCase(), `0x${"2".repeat(40)}`, `0x${"3".repeat(64)}`],
        );
        await gw.db.transaction((tx) =>
          insertOutboxEvent(tx, {
            id: newId(),
            merchantId: 1n,
            aggregateKind: "recharge",
            aggregateId: id,
            type: "recharge.status_changed",
            payload: { from: 3, status: 4 },
          }),
        );
        for (let i = 0; i < 4; i++) {
          await w.runOnce();
          await sleep(40);
        }
        const rechargeId = (await call(gw, A, "GET", "recharge/list", {})).body.data.list[0].rechargeId;
        const log = (await call(gw, A, "GET", "webhook/attempts", { rechargeId: String(rechargeId) })).body.data;
        assert.equal(log.events[0].status, "waiting");
        assert.match(log.events[0].lastError, /no recharge callback URL/);
        assert.equal(log.attempts.length, 1, "logged once, not once per look");
        assert.equal((await w.metrics()).waitingEvents, 1);
        assert.equal((await call(gw, A, "POST", "merchant/settings/update", { rechargeNotifyUrl: rx.url })).status, 200);
        await waitFor("sent", async () => {
          await w.runOnce();
          return rx.delivered().length === 1;
        });
        assert.equal(rx.received[0]!.body.rechargeId, rechargeId);
        assert.equal((await w.metrics()).waitingEvents, 0);
      } finally {
        await w.stop();
        await rx.close();
        await gw.close();
      }
    });
  });

  describe(`webhook API and notify routes (${backend})`, () => {
    it("a cancelled order's callback is delivered, listed by GET webhook/attempts, and re-sent by payment/notify with the same id", async () => {
      // the API, like the worker, lets this test aim callbacks at its receiver on 127.0.0.1
      const gw = await startGateway(backend, { allowPrivateWebhookTargets: true });
      const [A, B] = gw.merchants as [CreatedMerchant, CreatedMerchant];
      const rx = await startReceiver(A);
      const w = createOutboxWorker({
        db: gw.db,
        config: gw.config,
        box: createSecretBox(gw.config.masterKey),
        allowPrivateTargets: true,
        pollIntervalMs: 5,
      });
      try {
        const created = await call(gw, A, "POST", "payment/createPaymentOrder", {
          chainId: 31337,
          outTradeNo: "hook-1",
          quoteCurrencySymbol: "USDT",
          quoteAmount: "1",
          notifyUrl: rx.url,
        });
        assert.equal(created.status, 200, JSON.stringify(created.body));
        assert.equal((await call(gw, A, "POST", "payment/cancel", { outTradeNo: "hook-1" })).status, 200);
        while ((await w.runOnce()) > 0);
        const firstIds = rx.delivered().map((r) => r.id);
        assert.equal(firstIds.length, 1, "cancelled: paymentStatus 4, one callback");
        assert.equal(rx.received[0]!.body.paymentStatus, 4);
        assert.deepEqual((await call(gw, A, "POST", "payment/notify", { outTradeNo: "hook-1" })).body, { code: 200, msg: "success" });
        while ((await w.runOnce()) > 0);
        assert.equal(rx.delivered().at(-1)!.id, firstIds[0], "same event id on re-send");
        assert.deepEqual(rx.problems, []);

        const res = await call(gw, A, "GET", "webhook/attempts", { outTradeNo: "hook-1" });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const d = res.body.data;
        assert.equal(d.attempts.length, 2);
        assert.ok(d.attempts.every((a: any) => a.httpStatus === 200 && a.url === rx.url && typeof a.durationMs === "number"));
        assert.ok(d.events.every((e: any) => e.status === "delivered" && e.orderId === created.body.data.outPaymentNo));
        const byEvent = await call(gw, A, "GET", "webhook/attempts", { eventId: firstIds[0]! });
        assert.deepEqual(
          byEvent.body.data.attempts.map((a: any) => a.attemptNo),
          [1, 2],
        );
        // another merchant sees nothing of it; a missing or doubled parameter is a 400
        assert.equal((await call(gw, B, "GET", "webhook/attempts", { outTradeNo: "hook-1" })).body.code, 40401);
        assert.deepEqual((await call(gw, B, "GET", "webhook/attempts", { eventId: firstIds[0]! })).body.data, { events: [], attempts: [] });
        assert.equal((await call(gw, A, "GET", "webhook/attempts", {})).status, 400);
        const two = await call(gw, A, "GET", "webhook/attempts", { outTradeNo: "hook-1", eventId: "x" });
        assert.equal(two.status, 400);
        assert.equal(two.body.code, 40001);
      } finally {
        await w.stop();
        await rx.close();
        await gw.close();
      }
    });
  });
}

describe("notify URL guard", () => {
  it("classifies loopback, private, link-local, CGNAT, multicast, unspecified and IPv4-mapped addresses", () => {
    const blocked = [
      "127.0.0.1",
      "10.0.0.5",
      "172.20.1.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.1.1",
      "224.0.0.1",
      "0.0.0.0",
      "255.255.255.255",
      "::1",
      "::",
      "fe80::1",
      "fc00::1",
      "fd12:3456::1",
      "ff02::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:10.0.0.1",
      "64:ff9b::a00:1",
      "2002:c0a8:101::1",
    ];
    for (const ip of blocked) assert.ok(blockedReason(ip), `${ip} must be refused`);
    for (const ip of [
      "8.8.8.8",
      "1.1.1.1",
      "100.128.0.1",
      "172.32.0.1",
      "2606:4700:4700::1111",
      "::ffff:8.8.8.8",
      "2001:4860:4860::8888",
    ]) {
      assert.equal(blockedReason(ip), null, `${ip} is public`);
    }
    assert.equal(blockedReason("::ffff:127.0.0.1"), "loopback (IPv4 127.0.0.1 inside IPv6)");
    assert.equal(blockedReason("100.64.0.1"), "CGNAT");
  });

  it("checkNotifyUrl refuses private targets, other schemes and credentials; allows them when the operator does", async () => {
    const refused = async (url: string, re: RegExp) =>
      assert.rejects(checkNotifyUrl(url), (e: unknown) => e instanceof WebhookTargetRefusedError && re.test(e.message));
    await refused("http://127.0.0.1:8080/hook", /loopback/);
    await refused("http://[::1]/hook", /loopback/);
    await refused("https://10.0.0.1/hook", /private/);
    await refused("http://localhost/hook", /loopback/);
    await refused("http://api.localhost./hook", /loopback/);
    await refused("ftp://example.com/x", /http/);
    await refused("https://user:pw@8.8.8.8/x", /password/);
    await refused("not a url", /valid/);
    await checkNotifyUrl("https://8.8.8.8/hook");
    await checkNotifyUrl("https://shop.example.test/hook", { resolve: false }); // the API's check: no DNS on the create path
    await checkNotifyUrl("http://localhost/hook", { allowPrivate: true });
  });

  it("the default retry schedule delivers at 0 s, 15 s, 30 s, 3 min, 5 min, 10 min (Pay Protocol) and then for about two days", () => {
    const at = [0];
    for (const d of DEFAULT_RETRY_SCHEDULE_MS) at.push(at.at(-1)! + d);
    assert.deepEqual(at.slice(0, 6), [0, 15_000, 30_000, 180_000, 300_000, 600_000]);
    const total = DEFAULT_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0) / 3_600_000;
    assert.ok(total > 44 && total < 52, `${total} h`);
  });
});

notifySuite("pglite");
if (await postgresReachable()) {
  notifySuite("postgres");
} else {
  const notice = `PostgreSQL not reachable at ${PG_URL}: the server notifier tests were skipped (PGlite tests still ran)`;
  console.log(`# NOTICE: ${notice}`);
  describe("webhook notifier (postgres)", () => {
    it("runs against a PostgreSQL server", { skip: notice }, () => {});
  });
}
