/**
 * Crash safety of the whole service (and the whole path from order to a verified success webhook): `indexer/src/server.ts` runs as a child process on PostgreSQL and a
 * `hardhat node`, and is killed with SIGKILL at random moments while payers pay a dozen orders, then
 * restarted, many times. At the end every order is paid exactly once (no lost and no duplicated
 * transition), and the merchant has received every webhook, each under one stable event id however many
 * times it was delivered.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { Webhook } from "standardwebhooks";
import { createPayClient, verifyWebhook, type PayClient } from "../../sdk/src/index.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { createMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import type { Db } from "../src/store/db.js";
import {
  CHAIN_PG_URL,
  chainPostgresReachable,
  deployFixture,
  fixtureChainConfig,
  freePort,
  spawnGatewayServer,
  startHardhatNode,
  type Fixture,
  type HardhatNode,
} from "./chainHarness.js";

const reachable = await chainPostgresReachable();
if (!reachable) console.log("NOTICE: PostgreSQL at 127.0.0.1:5432 is not reachable: the crash test was skipped");

describe("SIGKILL at random points", { skip: !reachable, timeout: 240_000 }, () => {
  let node: HardhatNode;
  let fx: Fixture;
  let db: Db;
  let client: PayClient;
  let child: ChildProcess | undefined;
  let dbUrl: string;
  let miner: NodeJS.Timeout;
  const dbName = `crash_${randomBytes(4).toString("hex")}`;
  const masterKey = randomBytes(32).toString("hex");
  const received: { eventId: string; outPaymentNo: string; paymentStatus: number }[] = [];
  let merchantServer: http.Server;
  let port: number;
  let configFile: string;
  let random = 7;
  const rand = () => ((random = (Math.imul(random, 1103515245) + 12345) >>> 0), random / 2 ** 32);

  async function startChild() {
    child = await spawnGatewayServer({
      configFile,
      databaseUrl: dbUrl,
      masterKeyHex: masterKey,
      port,
      logLevel: "error",
      timeoutMs: 20_000,
    });
  }
  function kill() {
    child?.kill("SIGKILL");
    child = undefined;
  }

  before(async () => {
    const admin = new pg.Client({ connectionString: CHAIN_PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    dbUrl = CHAIN_PG_URL.replace(/\/[^/]*$/, `/${dbName}`);
    node = await startHardhatNode();
    fx = await deployFixture(node);
    db = await openStore({ databaseUrl: dbUrl });
    const m = await createMerchant(db, createSecretBox(Buffer.from(masterKey, "hex")), {
      id: fx.merchantId,
      name: "Shop",
      payoutSigner: fx.admin,
    });
    // every event calls back (not only Pay Protocol's status changes), so every event's delivery is checked
    await db.query("UPDATE merchants SET callback_all_events = true WHERE id = $1", [fx.merchantId]);
    merchantServer = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        try {
          // both signatures of every delivery: X-PAY-SIGN (the SDK, with the API secret) and Standard Webhooks (the library)
          const body = Buffer.concat(chunks);
          new Webhook(m.webhookSecret).verify(body.toString("utf8"), {
            "webhook-id": String(req.headers["webhook-id"]),
            "webhook-timestamp": String(req.headers["webhook-timestamp"]),
            "webhook-signature": String(req.headers["webhook-signature"]),
          });
          const e = verifyWebhook<{ outPaymentNo: string; paymentStatus: number }>({
            apiSecret: m.apiSecret,
            requestPath: req.url!,
            headers: req.headers,
            body,
          });
          received.push({ eventId: e.eventId, outPaymentNo: e.data.outPaymentNo, paymentStatus: e.data.paymentStatus });
          res.writeHead(200).end("success");
        } catch {
          res.writeHead(400).end("bad signature");
        }
      });
    });
    await new Promise<void>((r) => merchantServer.listen(0, "127.0.0.1", r));
    port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), "gw-crash-"));
    configFile = path.join(dir, "gateway.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        host: "127.0.0.1",
        port,
        allowPrivateWebhookTargets: true,
        webhookRetryScheduleMs: [200, 400, 800],
        webhookTimeoutMs: 1_000,
        webhookLeaseMs: 1_500,
        pollIntervalMs: 100,
        chains: [await fixtureChainConfig(fx, { confirmations: 2 })],
      }),
    );
    client = createPayClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: m.apiKey, apiSecret: m.apiSecret });
    miner = setInterval(() => void node.rpc("evm_mine").catch(() => {}), 150);
  });

  after(async () => {
    clearInterval(miner);
    kill();
    await db?.close();
    merchantServer?.close();
    node?.stop();
    const admin = new pg.Client({ connectionString: CHAIN_PG_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  });

  it("loses and duplicates nothing across eight kills", async () => {
    await startChild();
    const orders = [];
    for (let i = 0; i < 12; i++) {
      orders.push(
        await client.payment.create({
          outTradeNo: `c-${i}`,
          chainId: 31337,
          quoteCurrencySymbol: "USDT",
          quoteAmount: "2",
          notifyUrl: `http://127.0.0.1:${(merchantServer.address() as any).port}/hook?shop=c`,
        }),
      );
    }
    await fx.mint(fx.payer, 1_000_000_000n);
    let kills = 0;
    for (const [i, o] of orders.entries()) {
      // half of each order now, the rest a moment later: the kills land between seen, confirmed and notified
      await fx.write(fx.token, fx.tokenAbi, "transfer", [o.userWalletAddress, 1_000_000n], fx.payer);
      await new Promise((r) => setTimeout(r, rand() * 400));
      await fx.write(fx.token, fx.tokenAbi, "transfer", [o.userWalletAddress, 1_000_000n], fx.payer);
      if (i % 3 === 1 && kills < 8) {
        await new Promise((r) => setTimeout(r, rand() * 600));
        kill();
        kills++;
        await new Promise((r) => setTimeout(r, rand() * 300));
        await startChild();
      }
      if (i % 3 === 2 && kills < 8) {
        kill(); // right after the payment, before the follower can have finished
        kills++;
        await startChild();
      }
    }
    assert.ok(kills >= 7);

    const deadline = Date.now() + 60_000;
    for (;;) {
      const [open] = await db.query<{ n: string }>("SELECT count(*) AS n FROM payment_orders WHERE status <> 4");
      const [undelivered] = await db.query<{ n: string }>("SELECT count(*) AS n FROM outbox_events WHERE delivered_at IS NULL");
      if (open!.n === "0" && undelivered!.n === "0") break;
      if (Date.now() > deadline) assert.fail(`not settled: ${open!.n} orders open, ${undelivered!.n} webhooks undelivered`);
      await new Promise((r) => setTimeout(r, 200));
    }

    for (const o of orders) {
      const [row] = await db.query("SELECT status, seen_amount, paid_amount FROM payment_orders WHERE id = $1", [o.outPaymentNo]);
      assert.equal(row!.status, 4);
      assert.equal(row!.paid_amount, "2000000", `${o.outTradeNo} paid exactly once`);
      assert.equal(row!.seen_amount, "2000000", `${o.outTradeNo} seen exactly once`);
      const transfers = await db.query("SELECT count(*)::int AS n FROM payment_transfers WHERE pay_order_id = $1", [o.outPaymentNo]);
      assert.equal(transfers[0]!.n, 2, "two transfers, each recorded once");
      const events = await db.query<{ id: string; payload: any }>(
        "SELECT id, payload FROM outbox_events WHERE aggregate_id = $1 AND type = 'payment.status_changed' ORDER BY id",
        [o.outPaymentNo],
      );
      const moves = events.map((e) => `${e.payload.data.from}->${e.payload.data.status}`);
      assert.equal(new Set(moves).size, moves.length, `${o.outTradeNo}: no transition written twice (${moves})`);
      assert.equal(moves.filter((mv) => mv.endsWith("->4")).length, 1, `${o.outTradeNo}: one success`);
      for (const e of events)
        assert.ok(
          received.some((r) => r.eventId === e.id),
          `event ${e.id} of ${o.outTradeNo} delivered`,
        );
      // every delivery about this order carries one of its events' ids, and the success was delivered showing paid
      const ids = new Set(events.map((e) => e.id));
      assert.ok(
        received.filter((r) => r.outPaymentNo === o.outPaymentNo).every((r) => ids.has(r.eventId)),
        `${o.outTradeNo}: stable event ids`,
      );
      const success = events.find((e) => e.payload.data.status === 4)!;
      assert.ok(
        received.some((r) => r.eventId === success.id && r.paymentStatus === 0),
        `${o.outTradeNo}: the success callback says paid`,
      );
    }
  });
});
