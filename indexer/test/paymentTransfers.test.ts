/**
 * The one read of an order's transfers (store/paymentTransfers.ts) and its three readers: the merchant API's
 * view (inside its one statement), the console's order page (store/ingest.ts) and the payment page
 * (web/readModel.ts), each on the same rows: counted, another token, removed by a reorg, late, found by
 * balance. PGlite, and PostgreSQL when reachable.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createSecretBox } from "../src/crypto/secretBox.js";
import type { Db } from "../src/store/db.js";
import { paymentTransfersOf as consoleTransfersOf } from "../src/store/ingest.js";
import { createMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { getPaymentViewById, type PaymentOrderRecord } from "../src/store/paymentOrders.js";
import { listPaymentTransfers } from "../src/store/paymentTransfers.js";
import { paymentTransfersOf as pageTransfersOf } from "../src/web/readModel.js";
import { paidPayment } from "./consoleHarness.js";
import { PG_URL, postgresReachable, USDT, VAULT } from "./helpers.js";

const ZERO = "0x0000000000000000000000000000000000000000";
const PAYER = "0x1111111111111111111111111111111111111111";
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

const pg = await postgresReachable();
for (const backend of pg ? (["pglite", "postgres"] as const) : (["pglite"] as const))
  describe(`an order's transfers, read once for the API, the console and the payment page (${backend})`, () => {
    let db: Db;
    let schema: string;
    let order: PaymentOrderRecord;
    const insert = (t: {
      tx: string;
      log: number;
      block: number;
      amount: bigint;
      kind?: string;
      token?: string;
      late?: boolean;
      status?: string;
    }) =>
      db.query(
        `INSERT INTO payment_transfers (chain_id, tx_hash, log_index, pay_order_id, token, from_address, to_address, amount, block_number, kind, late, status)
         VALUES (137, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          t.tx,
          t.log,
          order.id,
          (t.token ?? USDT).toLowerCase(),
          PAYER,
          order.receiptAddress!.toLowerCase(),
          t.amount.toString(),
          t.block,
          t.kind ?? "payment",
          t.late ?? false,
          t.status ?? "seen",
        ],
      );

    before(async () => {
      schema = `transfers_test_${Date.now()}_${randomBytes(3).toString("hex")}`;
      db = backend === "pglite" ? await openStore({ pgliteDir: "memory://" }) : await openStore({ databaseUrl: PG_URL, schema });
      await createMerchant(db, createSecretBox(randomBytes(32)), { name: "Shop", id: 1n });
      order = await paidPayment(db, {
        merchantId: 1n,
        ref: "transfers-1",
        chainId: 137,
        vault: VAULT,
        token: USDT,
        symbol: "USDT",
        decimals: 6,
        amount: 1000n,
      });
      await db.query("INSERT INTO chain_cursors (chain_id, block_number, block_hash) VALUES (137, 12, $1)", [hash(12)]);
      await insert({ tx: hash(1), log: 0, block: 10, amount: 600n, status: "confirmed" });
      await insert({ tx: hash(2), log: 1, block: 11, amount: 5n, kind: "wrong_token", token: ZERO });
      await insert({ tx: hash(3), log: 0, block: 12, amount: 300n, status: "removed" });
      await insert({ tx: hash(4), log: 2, block: 13, amount: 100n, late: true });
      await insert({ tx: `balance:14:${order.receiptAddress!.toLowerCase()}`, log: 0, block: 14, amount: 500n });
    });

    after(async () => {
      if (backend === "postgres") await db?.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
      await db?.close();
    });

    it("one domain shape, the same from the API's one-statement view and from the standalone read", async () => {
      const list = await listPaymentTransfers(db, order.id);
      assert.deepEqual(
        list.map((t) => [t.txHash.slice(0, 10), t.amount, t.status, t.late, t.counted, t.tip, t.foundBy]),
        [
          [hash(1).slice(0, 10), 600n, "confirmed", false, true, 12n, "log"],
          [hash(2).slice(0, 10), 5n, "seen", false, false, 12n, "log"],
          [hash(3).slice(0, 10), 300n, "removed", false, true, 12n, "log"],
          [hash(4).slice(0, 10), 100n, "seen", true, true, 12n, "log"],
          ["balance:14", 500n, "seen", false, true, 12n, "balance"],
        ],
      );
      assert.ok(list.every((t) => t.createdAt instanceof Date && !Number.isNaN(t.createdAt.getTime())));
      assert.deepEqual((await getPaymentViewById(db, order.id))!.transfers, list);
      assert.deepEqual(await listPaymentTransfers(db, "no-such-order"), []);
    });

    it("the console: confirmations on the follower's tip, late, overpaid and another token's amounts", async () => {
      const c = await consoleTransfersOf(db, order);
      assert.deepEqual(
        c.transfers.map((t) => [t.amountBaseUnits, t.blockNumber, t.confirmations, t.status, t.tokenMatches, t.late, t.foundBy]),
        [
          ["600", "10", 3, "confirmed", true, false, "log"],
          ["5", "11", 2, "seen", false, false, "log"],
          ["300", "12", 0, "removed", true, false, "log"],
          ["100", "13", 0, "seen", true, true, "log"],
          ["500", "14", 0, "seen", true, false, "balance"],
        ],
      );
      assert.deepEqual([c.lateAmount, c.overpaidAmount, c.unmatchedAmount], [100n, 100n, 5n]);
    });

    it("the payment page: removed ones left out, the kind and the time recorded, at most 20", async () => {
      const page = await pageTransfersOf(db, order.id);
      assert.deepEqual(
        page.map((t) => [t.chainId, t.amount, t.kind, t.status, t.late]),
        [
          [137, 600n, "payment", "confirmed", false],
          [137, 5n, "wrong_token", "seen", false],
          [137, 100n, "payment", "seen", true],
          [137, 500n, "payment", "seen", false],
        ],
      );
      const [row] = await db.query("SELECT created_at FROM payment_transfers WHERE tx_hash = $1", [hash(1)]);
      assert.equal(page[0]!.at.getTime(), new Date(row!.created_at).getTime());
      for (let i = 0; i < 20; i++) await insert({ tx: hash(100 + i), log: 0, block: 20 + i, amount: 1n });
      const more = await pageTransfersOf(db, order.id);
      assert.equal(more.length, 20);
      assert.deepEqual(
        more.slice(-1).map((t) => t.txHash),
        [hash(115)],
        "the oldest 20, removed ones not counted",
      );
    });
  });
