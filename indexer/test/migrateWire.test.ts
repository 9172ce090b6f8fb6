/**
 * Migrations 010-011 (Pay Protocol's wire format) on a database that holds rows of the schema before them: every
 * old row is kept and numbered, converted where the wire needs it, and served by the new API; new rows continue
 * the numbering. Runs on PGlite and, when it answers, on the PostgreSQL server.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../src/api/app.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { createDb, type Db } from "../src/store/db.js";
import { createMerchant, type CreatedMerchant } from "../src/store/merchants.js";
import { migrate } from "../src/store/migrate.js";
import { call, PG_URL, postgresReachable, testConfig, USDT, VAULT, type TestGateway } from "./helpers.js";

// the schema a gateway had before the wire format, with the later, independent migrations (chain, pricing, console) already in
const BEFORE_WIRE = (v: number) => v < 10 || v >= 20;
const ETH = "0x0000000000000000000000000000000000000000";
const addr = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

/** Rows as the gateway wrote them before issue 10 (ids ULID-like, merchantWithdrawId, {eventId,type,data} payloads). */
async function fillOldSchema(db: Db) {
  await db.query(`INSERT INTO payment_orders (id, merchant_id, merchant_order_id, request_hash, chain_id, token_address, token_symbol, token_decimals, amount,
      status, seen_amount, paid_amount, refunded_amount, receipt_address, pool_index, payer_address, notify_url, access_sign, expires_at, created_at, updated_at)
    VALUES
      ('01OLDPAY0000000000000000A1', 1, 'old-1', 'h1', 31337, '${USDT.toLowerCase()}', 'USDT', 6, 12500000, 4, 12500000, 12500000, 7500000, '${addr(0xa1)}', 0,
       '${addr(0xb1)}', 'https://shop.test/n', 'AS1', now(), now() - interval '3 day', now() - interval '2 day'),
      ('01OLDPAY0000000000000000A2', 1, 'old-2', 'h2', 31337, '${ETH}', 'ETH', 18, 1, 0, 0, 0, 0, '${addr(0xa2)}', 1, NULL, 'https://shop.test/n', 'AS2', now(),
       now() - interval '1 day', now() - interval '1 day')`);
  await db.query(`INSERT INTO refund_orders (id, merchant_id, pay_order_id, merchant_refund_id, request_hash, amount, to_address, status, payout_id, payout_deadline, tx_hash, created_at)
    VALUES ('01OLDREF0000000000000000B2', 1, '01OLDPAY0000000000000000A1', 'R-2', 'h', 2500000, '${addr(0xb1)}', 0, 2, now() + interval '1 day', NULL, now() - interval '1 hour'),
           ('01OLDREF0000000000000000B1', 1, '01OLDPAY0000000000000000A1', 'R-1', 'h', 5000000, '${addr(0xb1)}', 3, 1, now() + interval '1 day', '${hash(1)}', now() - interval '2 hour')`);
  await db.query(`INSERT INTO users (merchant_id, user_no, uuid, user_type) VALUES (1, 1, 'U-1', 7)`);
  await db.query(`INSERT INTO user_wallets (user_id, chain_id, address) VALUES (1, 31337, '${addr(0xc1)}')`);
  await db.query(`INSERT INTO recharge_orders (id, merchant_id, user_id, chain_id, token_address, amount, status, from_address, to_address, tx_hash, log_index,
      block_number, block_hash, created_at)
    VALUES ('01OLDRCH0000000000000000C1', 1, 1, 31337, '0x9999999999999999999999999999999999999999', 700, 4, '${addr(0xd1)}', '${addr(0xc1)}', '${hash(2)}', 0, 9, '${hash(3)}', now() - interval '5 hour')`);
  await db.query(`INSERT INTO withdrawal_orders (id, merchant_id, user_id, merchant_withdraw_id, request_hash, chain_id, token_address, amount, to_address, status,
      payout_id, payout_deadline, notify_url, created_at)
    VALUES ('01OLDWDR0000000000000000D2', 1, 1, 'W-B', 'h', 31337, '${USDT.toLowerCase()}', 3000000, '${addr(0xe2)}', -1, 4, now() + interval '1 day', NULL, now() - interval '1 hour'),
           ('01OLDWDR0000000000000000D1', 1, 1, 'W-A', 'h', 31337, '${USDT.toLowerCase()}', 1000000, '${addr(0xe1)}', 0, 3, now() + interval '1 day', 'https://shop.test/w', now() - interval '2 hour')`);
  await db.query(`INSERT INTO settlement_orders (id, merchant_id, merchant_settlement_id, request_hash, chain_id, token_address, amount, to_address, status, payout_id, payout_deadline)
    VALUES ('01OLDSET0000000000000000E1', 1, 'S-1', 'h', 31337, '${USDT.toLowerCase()}', 4000000, '${addr(0xf1)}', 0, 5, now() + interval '1 day')`);
  const event = (id: string, kind: string, aggregate: string) =>
    db.query(
      "INSERT INTO outbox_events (id, merchant_id, aggregate_kind, aggregate_id, type, payload) VALUES ($1, 1, $2, $3, $4, $5::jsonb)",
      [
        id,
        kind,
        aggregate,
        `${kind}.status_changed`,
        JSON.stringify({ eventId: id, type: `${kind}.status_changed`, data: { from: null, status: 0 } }),
      ],
    );
  await event("EV-REF", "refund", "01OLDREF0000000000000000B1");
  await event("EV-WDR", "withdrawal", "01OLDWDR0000000000000000D1");
  await event("EV-SET", "settlement", "01OLDSET0000000000000000E1");
  await event("EV-PAY", "payment", "01OLDPAY0000000000000000A1");
  await db.query(
    "INSERT INTO webhook_attempts (event_id, merchant_id, aggregate_kind, aggregate_id, attempt_no, url, http_status, duration_ms) VALUES ('EV-REF', 1, 'refund', '01OLDREF0000000000000000B1', 1, 'https://shop.test/n', 500, 3)",
  );
}

for (const backend of ["pglite", "postgres"] as const) {
  const reachable = backend === "pglite" || (await postgresReachable());
  if (!reachable) console.log("NOTICE: PostgreSQL at 127.0.0.1:5432 is not reachable: the PostgreSQL migration test was skipped");

  describe(`migrations 010-011 convert an existing database (${backend})`, { skip: !reachable }, () => {
    let db: Db;
    let app: FastifyInstance;
    let merchant: CreatedMerchant;
    const schema = `gw_migrate_${Date.now()}_${randomBytes(3).toString("hex")}`;
    const config = testConfig();

    before(async () => {
      db = backend === "pglite" ? await createDb({ pgliteDir: "memory://" }) : await createDb({ databaseUrl: PG_URL, schema });
      await migrate(db, { only: BEFORE_WIRE });
      merchant = await createMerchant(db, createSecretBox(config.masterKey), { name: "Old shop", id: 1n });
      await fillOldSchema(db);
      assert.deepEqual(await migrate(db), [10, 11, 12], "the wire's migrations, and only they, run now");
      app = await buildApp({ db, config });
      await app.listen({ host: "127.0.0.1", port: 0 });
    });
    after(async () => {
      await app?.close();
      if (backend === "postgres") await db?.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
      await db?.close();
    });

    const gw = () =>
      ({
        url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
        db,
        app,
        config,
        merchants: [merchant],
        close: async () => {},
      }) as TestGateway;

    it("numbers old rows in creation order and rewrites the callback log to the new ids", async () => {
      const refunds = await db.query("SELECT id, refund_no::int AS no, merchant_refund_id FROM refund_orders ORDER BY refund_no");
      assert.deepEqual(
        refunds.map((r) => [r.id, r.no, r.merchant_refund_id]),
        [
          ["01OLDREF0000000000000000B1", 1, "R-1"],
          ["01OLDREF0000000000000000B2", 2, "R-2"],
        ],
      );
      const wd = await db.query(
        "SELECT w.id::int AS id, w.out_trade_no, o.id AS line, o.line_no FROM withdrawals w JOIN withdrawal_orders o ON o.withdraw_id = w.id ORDER BY w.id",
      );
      assert.deepEqual(
        wd.map((r) => [r.id, r.out_trade_no, r.line, r.line_no]),
        [
          [1, "W-A", "01OLDWDR0000000000000000D1", 1],
          [2, "W-B", "01OLDWDR0000000000000000D2", 1],
        ],
      );
      const [s] = await db.query("SELECT settlement_no::int AS no FROM settlement_orders");
      assert.equal(s!.no, 1);
      const [r] = await db.query("SELECT recharge_no::int AS no FROM recharge_orders");
      assert.equal(r!.no, 1);
      const events = await db.query("SELECT id, aggregate_id FROM outbox_events ORDER BY id");
      assert.deepEqual(
        events.map((e) => [e.id, e.aggregate_id]),
        [
          ["EV-PAY", "01OLDPAY0000000000000000A1"],
          ["EV-REF", "1"],
          ["EV-SET", "1"],
          ["EV-WDR", "1"],
        ],
      );
      const [attempt] = await db.query("SELECT aggregate_id FROM webhook_attempts WHERE event_id = 'EV-REF'");
      assert.equal(attempt!.aggregate_id, "1");
      const [u] = await db.query("SELECT user_type FROM users");
      assert.equal(Number(u!.user_type), 0, "Pay Protocol's userType: recharge-type");
    });

    it("gives every token old rows used a currencyId, in the order they first appeared, and the configured ones theirs", async () => {
      const rows = await db.query("SELECT id::int AS id, chain_id::int AS chain, address, symbol, decimals FROM currencies ORDER BY id");
      assert.deepEqual(
        rows.slice(0, 3).map((c) => [c.id, c.address, c.symbol]),
        [
          [1, USDT.toLowerCase(), "USDT"],
          [2, ETH, "ETH"],
          [3, "0x9999999999999999999999999999999999999999", ""],
        ],
      );
      // buildApp numbered the configured tokens not seen before (POL on 137) after them, and kept the old ones
      assert.ok(rows.some((c) => c.chain === 137 && c.symbol === "POL" && c.id > 3));
      assert.equal(rows.find((c) => c.address === USDT.toLowerCase())!.decimals, 6);
    });

    it("serves the old rows through the new API: quote, paid time, refunds, withdrawals, settlements, recharges", async () => {
      const A = merchant;
      const p = (await call(gw(), A, "GET", "payment/detail", { outTradeNo: "old-1" })).body.data;
      assert.equal(p.outPaymentNo, "01OLDPAY0000000000000000A1");
      assert.equal(p.quoteCurrencySymbol, "USDT");
      assert.equal(p.quoteAmount, "12.5", "the old amount as the quote");
      assert.equal(p.paymentStatus, 0);
      assert.equal(typeof p.arrivalTime, "number", "paid orders keep a paid time");
      assert.equal(p.refundPaidAmount, "5000000");
      assert.equal((await call(gw(), A, "GET", "payment/detail", { outTradeNo: "old-2" })).body.data.quoteAmount, "0.000000000000000001");
      const r1 = (await call(gw(), A, "GET", "refund/detail", { refundId: "1" })).body.data;
      assert.equal(r1.refundStatus, 0);
      assert.equal(r1.outRefundNo, "R-1");
      assert.equal(r1.transferHash, hash(1));
      const w = (await call(gw(), A, "GET", "withdraw/detail", { outTradeNo: "W-A" })).body.data;
      assert.equal(w.withdrawId, 1);
      assert.equal(w.withdrawAmount, "1000000");
      assert.equal(w.notifyUrl, "https://shop.test/w");
      assert.equal((await call(gw(), A, "GET", "withdraw/detail", { withdrawId: "2" })).body.data.withdrawStatus, 5);
      assert.equal((await call(gw(), A, "GET", "settlement/detail", { outTradeNo: "S-1" })).body.data.settlementId, 1);
      const rc = (await call(gw(), A, "GET", "recharge/detail", { rechargeId: "1" })).body.data;
      assert.equal(rc.rechargeAmount, "700");
      assert.equal(rc.currencyId, 3, "a token no longer configured keeps the number it was given");
      const log = (await call(gw(), A, "GET", "webhook/attempts", { refundId: "1" })).body.data;
      assert.deepEqual(
        log.attempts.map((a: any) => a.httpStatus),
        [500],
      );
    });

    it("new rows continue the numbering", async () => {
      const A = merchant;
      const w = await call(gw(), A, "POST", "withdraw/apply", {
        chainId: 31337,
        currencyId: 1,
        withdrawAddress: addr(0x77),
        withdrawAmount: "1",
      });
      assert.equal(w.body.data.withdrawId, 3, JSON.stringify(w.body));
      const lines = await db.query("SELECT payout_id::int AS p FROM withdrawal_orders WHERE withdraw_id = 3");
      assert.equal(lines[0]!.p, 1, "the merchant's payout counter (merchants.next_payout_id) is untouched by the migration");
      const [nextRefund] = await db.query(
        `INSERT INTO refund_orders (id, merchant_id, pay_order_id, request_hash, amount, to_address, status, payout_id, payout_deadline)
         VALUES ('NEW', 1, '01OLDPAY0000000000000000A1', 'h', 1, '0x1', 0, 99, now()) RETURNING refund_no::int AS no`,
      );
      assert.equal(nextRefund!.no, 3);
      assert.equal(VAULT.length, 42);
    });
  });
}
