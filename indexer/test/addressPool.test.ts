/**
 * Payment-address pool growth (store/addressPool.ts) on PGlite: a busy pool is topped up before it runs
 * dry, a quiet merchant whose addresses come back is not given new ones, and creates that find the pool
 * empty together share one growth sized for all of them.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { depositInitCodeHash } from "../src/domain/depositAddress.js";
import { newId } from "../src/domain/ids.js";
import type { Db } from "../src/store/db.js";
import { createMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { applyPaymentEvent, createPaymentOrder } from "../src/store/paymentOrders.js";
import { USDT, VAULT } from "./helpers.js";

const CHAIN = 31337;
const initCodeHash = depositInitCodeHash(VAULT);

describe("payment address pool growth", () => {
  let db: Db;
  before(async () => {
    db = await openStore({ pgliteDir: "memory://" });
    const box = createSecretBox(randomBytes(32));
    for (const id of [1n, 2n, 3n]) await createMerchant(db, box, { name: `Shop ${id}`, id });
  });
  after(() => db.close());

  const create = (merchantId: bigint, merchantOrderId: string) =>
    createPaymentOrder(db, {
      id: newId(),
      merchantId,
      merchantOrderId,
      requestHash: merchantOrderId,
      chainId: CHAIN,
      vault: VAULT,
      initCodeHash,
      tokenAddress: USDT,
      tokenSymbol: "USDT",
      tokenDecimals: 6,
      amount: 1_000_000n,
      notifyUrl: "https://shop.example.test/hook",
      redirectionUrl: null,
      accessSign: "a",
      description: "",
      quoteSymbol: "USDT",
      quoteAmount: "1",
      isLegalTender: 0,
      expiresAt: new Date(Date.now() + 3_600_000),
    });
  const pool = async (merchantId: bigint) => {
    const [r] = await db.query<{ next: string | null; rows: number; free: number }>(
      `SELECT (SELECT next_index::text FROM address_pool_counters WHERE merchant_id = $1 AND chain_id = $2) AS next,
              count(*)::int AS rows, (count(*) FILTER (WHERE order_id IS NULL))::int AS free
       FROM address_pool WHERE merchant_id = $1 AND chain_id = $2`,
      [merchantId, CHAIN],
    );
    return { next: r!.next === null ? 0 : Number(r!.next), rows: r!.rows, free: r!.free };
  };
  const settle = () => new Promise((r) => setTimeout(r, 100));

  it("tops a busy pool up in the background before it is empty", async () => {
    await create(1n, "busy-0"); // the pool is empty: the first create grows it by 16
    assert.deepEqual(await pool(1n), { next: 16, rows: 16, free: 15 });
    for (let i = 1; i < 9; i++) await create(1n, `busy-${i}`); // key 8 leased: the top half of the batch
    await settle();
    const p = await pool(1n);
    assert.equal(p.next, 32, "grown by one batch while 7 addresses were still free");
    assert.equal(p.rows, 32, "keys 0..31, no gaps");
    assert.equal(p.free, 32 - 9);
  });

  it("does not grow a quiet merchant's pool whose addresses come back", async () => {
    for (let i = 0; i < 60; i++) {
      const { order } = await create(2n, `quiet-${i}`);
      // cancelled at once; the address rests 0 s, so it is free again for the next order
      await applyPaymentEvent(db, { merchantId: 2n, ref: { payOrderId: order.id }, event: { type: "cancel" }, poolCooldownSeconds: 0 });
    }
    await settle();
    assert.deepEqual(await pool(2n), { next: 16, rows: 16, free: 16 }, "60 orders served by the first 16 addresses");
  });

  it("creates that find the pool empty together share one growth that covers them all", async () => {
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => create(3n, `burst-${i}`)));
    assert.equal(new Set(results.map((r) => r.order.receiptAddress)).size, 100, "100 distinct addresses");
    await settle();
    const p = await pool(3n);
    assert.equal(p.rows, p.next, "gap-free");
    assert.ok(p.next >= 100 && p.next <= 100 + 64, `one growth sized for the waiting creates, plus at most a top-up: ${p.next}`);
  });
});
