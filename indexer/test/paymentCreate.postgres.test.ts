import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../src/api/app.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { depositInitCodeHash } from "../src/domain/depositAddress.js";
import type { Db } from "../src/store/db.js";
import { createMerchant, type CreatedMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { growthBatch } from "../src/store/addressPool.js";
import { createPaymentOrder } from "../src/store/paymentOrders.js";
import { PG_URL, USDT, VAULT, call, postgresReachable, testConfig, type TestGateway } from "./helpers.js";

const reachable = await postgresReachable();
const skip = reachable ? false : `PostgreSQL not reachable at ${PG_URL}`;

/**
 * Two gateway processes' worth of state (two apps, two pools) on one PostgreSQL schema: the replay guard is
 * shared through the database, and the lease stays on the partial index at 200k leased rows.
 */
describe("payment create and detail on one PostgreSQL shared by two gateways", { skip }, () => {
  const schema = `gw_create_${Date.now()}_${randomBytes(3).toString("hex")}`;
  const config = testConfig();
  let dbs: Db[] = [];
  const apps: FastifyInstance[] = [];
  const gws: TestGateway[] = [];
  let A: CreatedMerchant;

  before(async () => {
    dbs = [await openStore({ databaseUrl: PG_URL, schema, poolSize: 4 }), await openStore({ databaseUrl: PG_URL, schema, poolSize: 4 })];
    A = await createMerchant(dbs[0]!, createSecretBox(config.masterKey), { name: "Shop A", id: 1n });
    for (const db of dbs) {
      const app = await buildApp({ db, config });
      await app.listen({ host: "127.0.0.1", port: 0 });
      apps.push(app);
      const { port } = app.server.address() as { port: number };
      gws.push({ url: `http://127.0.0.1:${port}`, db, app, config, merchants: [A], close: async () => {} });
    }
  });
  after(async () => {
    for (const app of apps) await app.close();
    await dbs[0]?.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
    for (const db of dbs) await db.close();
  });

  const order = (id: string, over: Record<string, unknown> = {}) => ({
    chainId: 31337,
    outTradeNo: id,
    quoteCurrencySymbol: "USDT",
    quoteAmount: "1.5",
    notifyUrl: "https://shop.example.test/notify",
    ...over,
  });

  it("a write accepted at one gateway is a replay at the other (the remembered signature is shared); reads and creates repeat", async () => {
    const [g1, g2] = gws as [TestGateway, TestGateway];
    const t = { timestamp: String(Math.floor(Date.now() / 1000)) };
    const created = await call(g1, A, "POST", "payment/createPaymentOrder", order("n-1"), t);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const again = await call(g2, A, "POST", "payment/createPaymentOrder", order("n-1"), t);
    assert.equal(again.body.data.outPaymentNo, created.body.data.outPaymentNo, "an idempotent create repeats: the same order");
    for (const g of [g1, g2])
      assert.equal((await call(g, A, "GET", "payment/detail", { outTradeNo: "n-1" }, t)).status, 200, "reads repeat");

    const w = { chainId: 31337, currencyId: 2, withdrawAddress: "0x90F79bf6EB2c4f870365E785982E1f101E93b906", withdrawAmount: "1" };
    const first = await call(g1, A, "POST", "withdraw/apply", w, t);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const replayed = await call(g2, A, "POST", "withdraw/apply", w, t);
    assert.equal(replayed.body.code, 40105, JSON.stringify(replayed.body));
    const [n] = await dbs[0]!.query("SELECT count(*)::int AS n FROM withdrawals WHERE merchant_id = 1");
    assert.equal(n!.n, 1, "a refused replay writes nothing");
    // a refused write is forgotten, so the same signed request can go once it can succeed
    const cancel = { outTradeNo: "not-yet" };
    assert.equal((await call(g1, A, "POST", "payment/cancel", cancel, t)).body.code, 40401);
    assert.equal((await call(g2, A, "POST", "payment/cancel", cancel, t)).body.code, 40401);
  });

  it("the same signed write sent many times at once, to both gateways, passes exactly once", async () => {
    const [g1, g2] = gws as [TestGateway, TestGateway];
    const t = { timestamp: String(Math.floor(Date.now() / 1000)) };
    const w = { chainId: 31337, currencyId: 2, withdrawAddress: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", withdrawAmount: "2" };
    const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => call(i % 2 ? g1 : g2, A, "POST", "withdraw/apply", w, t)));
    assert.deepEqual(burst.map((r) => r.body.code).sort(), [200, ...Array(29).fill(40105)].sort());
    const [n] = await dbs[0]!.query("SELECT count(*)::int AS n FROM withdrawal_orders WHERE amount = 2000000");
    assert.equal(n!.n, 1);
    // and many different requests at once all pass (they share statements)
    const created = await call(g1, A, "POST", "payment/createPaymentOrder", order("burst-0"));
    const many = await Promise.all(
      Array.from({ length: 60 }, (_, i) => call(i % 2 ? g1 : g2, A, "GET", "payment/detail", { outTradeNo: "burst-0" })),
    );
    assert.ok(many.every((r) => r.status === 200 && r.body.data.outPaymentNo === created.body.data.outPaymentNo));
  });

  it("a repeated create gives its lease back: the address stays free with its rest time", async () => {
    const [g1, g2] = gws as [TestGateway, TestGateway];
    const req = order("rep-1");
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(i % 2 ? g1 : g2, A, "POST", "payment/createPaymentOrder", req)),
    );
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(new Set(results.map((r) => r.body.data.outPaymentNo)).size, 1);
    const [{ leased, orders }] = (await dbs[0]!.query(
      `SELECT (SELECT count(*)::int FROM address_pool WHERE order_id IS NOT NULL) AS leased,
              (SELECT count(*)::int FROM payment_orders) AS orders`,
    )) as [{ leased: number; orders: number }];
    assert.equal(leased, orders, "every order holds one lease and no lease is left without an order");
  });

  it("grows the pool in batches from the counter, gap-free, and sizes batches by the pool", async () => {
    assert.equal(growthBatch(0n), 16n);
    assert.equal(growthBatch(200n), 50n);
    assert.equal(growthBatch(100_000n), 1024n);
    const rows = await dbs[0]!.query<{ n: number; max: string; next: string }>(
      `SELECT count(*)::int AS n, max(pool_index)::text AS max, (SELECT next_index::text FROM address_pool_counters WHERE merchant_id = 1 AND chain_id = 31337) AS next
       FROM address_pool WHERE merchant_id = 1 AND chain_id = 31337`,
    );
    assert.equal(Number(rows[0]!.max) + 1, rows[0]!.n, "keys 0..n-1");
    assert.equal(Number(rows[0]!.next), rows[0]!.n);
  });

  it("at 200k leased addresses the lease walks the partial index address_pool_free (custom and generic plans)", async () => {
    const db = dbs[0]!;
    // 200k leased rows (no statistics yet: the case where a planner is most easily misled) and a few free
    await db.query(
      `INSERT INTO address_pool (merchant_id, chain_id, pool_index, address, order_id, leased_at, available_at)
       SELECT 1, 137, g, 'x' || g, 'leased-' || g, now(), now() - interval '2 days' + g * interval '1 ms'
       FROM generate_series(0, 199999) g`,
    );
    await db.query(
      `INSERT INTO address_pool (merchant_id, chain_id, pool_index, address, available_at)
       SELECT 1, 137, g, 'x' || g, now() - interval '1 day' + (g - 200000) * interval '1 second' FROM generate_series(200000, 200009) g`,
    );
    await db.query("INSERT INTO address_pool_counters VALUES (1, 137, 200010)");
    const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema},public` });
    await client.connect();
    const plans: string[] = [];
    client.on("notice", (n) => plans.push(n.message ?? ""));
    try {
      await client.query("LOAD 'auto_explain'");
      await client.query("SET auto_explain.log_min_duration = 0");
      await client.query("SET auto_explain.log_nested_statements = on");
      await client.query("SET client_min_messages = log");
      const lease = async (mode: string, i: number) => {
        await client.query(`SET plan_cache_mode = ${mode}`);
        const t0 = performance.now();
        await client.query(
          `SELECT outcome FROM create_payment_order($1, 1, $1, 'h', 137, $2, 'USDT', 6::smallint, 1, 'https://x.test', NULL, 'A', now() + interval '1 hour', '', 'USDT', '0.000001', 0::smallint)`,
          [`big-${mode}-${i}`, USDT.toLowerCase()],
        );
        return performance.now() - t0;
      };
      const times: number[] = [];
      for (let i = 0; i < 3; i++) times.push(await lease("force_custom_plan", i));
      for (let i = 0; i < 3; i++) times.push(await lease("force_generic_plan", i));
      const leasePlans = plans.filter((p) => p.includes("Update on address_pool a"));
      if (process.env.SHOW_PLANS) console.log(leasePlans.join("\n---\n"));
      assert.equal(leasePlans.length, 6, plans.join("\n---\n"));
      for (const p of leasePlans) {
        assert.match(p, /Index Scan using address_pool_free on address_pool f/, p);
        // the row to update is found by its key, not by walking the merchant's pool
        assert.match(p, /Index Scan using address_pool_pkey on address_pool a[^\n]*\n\s*Index Cond: \([^\n]*pool_index = \$\d+\)\)/, p);
        assert.doesNotMatch(p, /Seq Scan|Bitmap/, p);
      }
      assert.ok(Math.min(...times) < 20, `a lease at 200k leased rows takes ${times.map((t) => t.toFixed(1)).join(", ")} ms`);
    } finally {
      await client.end();
    }
    // the function still leases in the oldest-first order through createPaymentOrder (with growth off the table)
    const { order: o } = await createPaymentOrder(db, {
      id: "big-last",
      merchantId: 1n,
      merchantOrderId: "big-last",
      requestHash: "h",
      chainId: 137,
      vault: VAULT,
      initCodeHash: depositInitCodeHash(VAULT),
      tokenAddress: USDT,
      tokenSymbol: "USDT",
      tokenDecimals: 6,
      amount: 1n,
      notifyUrl: "https://x.test",
      redirectionUrl: null,
      accessSign: "A",
      expiresAt: new Date(Date.now() + 3_600_000),
      description: "",
      quoteSymbol: "USDT",
      quoteAmount: "0.000001",
      isLegalTender: 0,
    });
    assert.equal(o.poolIndex, 200006n, "the seventh free row, in available_at order");
  });
});
