/**
 * Deposits into orders, end to end: a real `hardhat node`, the real follower, the merchant API over HTTP
 * (orders, cancel, users, detail) and the store (PGlite, and PostgreSQL when reachable). Depth 3, so an
 * order shows 2 (seen), 3 (a block on top) and 4 (at depth).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Address } from "viem";
import { buildApp } from "../src/api/app.js";
import { combineHooks } from "../src/chain/combineHooks.js";
import { createChainFollower, type ChainFollower, type ChainFollowerHooks } from "../src/chain/follower.js";
import { resolveConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { transitionPayment, transitionRecharge } from "../src/domain/orderStateMachine.js";
import { createMonotonicIds, createOrderHooks } from "../src/ingest/index.js";
import type { Deposit } from "../src/chain/decode.js";
import { insertDeposits } from "../src/store/chain.js";
import type { Db, Queryable } from "../src/store/db.js";
import { listUnattributedDeposits } from "../src/store/ingest.js";
import { createMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { expireDuePaymentOrders } from "../src/store/paymentOrders.js";
import { deployFixture, startHardhatNode, type Fixture, type HardhatNode } from "./chainHarness.js";
import { PG_URL, call, postgresReachable, type TestGateway } from "./helpers.js";

const ZERO = "0x0000000000000000000000000000000000000000";
const ETH = 10n ** 18n;
const USD = 10n ** 6n;
const CHAIN = 31337;
const USDT_137 = "0x00000000000000000000000000000000000000c2";
const DEPTH = 3;
const COOLDOWN = 3600;

let node: HardhatNode;
let fx: Fixture;

before(async () => {
  node = await startHardhatNode();
  fx = await deployFixture(node);
  await fx.mint(fx.admin, 1_000_000n * USD);
});
after(() => node?.stop());

describe("pure parts", () => {
  it("event ids sort in creation order within one millisecond", () => {
    const next = createMonotonicIds();
    const ids = Array.from({ length: 2000 }, next);
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
  });

  it("a removed transfer always tells the merchant; an unmatched one is shown, not counted; a dropped recharge may come back", () => {
    const o = { status: 2 as const, amount: 10n, seenAmount: 15n, paidAmount: 0n, refundedAmount: 0n };
    const kept = transitionPayment(o, { type: "transferRemoved", amount: 5n });
    assert.equal(kept.next.status, 2);
    assert.equal(kept.outbox?.type, "payment.transfer_removed");
    const back = transitionPayment(o, { type: "transferRemoved", amount: 15n });
    assert.equal(back.next.status, 0);
    assert.equal(back.outbox?.type, "payment.status_changed");
    const u = transitionPayment(o, { type: "unmatchedTransfer", change: "seen", token: ZERO, amount: 3n });
    assert.deepEqual(u.next, o);
    assert.equal(u.outbox?.type, "payment.unmatched_transfer");
    assert.equal(transitionRecharge({ status: -1, amount: 1n }, { type: "reincluded" }).next.status, 2);
    assert.throws(() => transitionRecharge({ status: 4, amount: 1n }, { type: "reincluded" }));
  });
});

suite("pglite");
if (await postgresReachable()) suite("postgres");
else describe("deposits into orders (postgres)", () => it.skip("PostgreSQL not reachable"));

function suite(backend: "pglite" | "postgres") {
  describe(`deposits into orders (${backend})`, () => {
    let db: Db;
    let gw: TestGateway;
    let f: ChainFollower;
    let seq = 0;
    const schema = `ingest_test_${Date.now()}_${randomBytes(3).toString("hex")}`;

    const newFollower = async (hooks: ChainFollowerHooks, startBlock?: bigint) => {
      const follower = createChainFollower({
        db,
        chain: {
          chainId: CHAIN,
          rpcUrl: node.url,
          vault: fx.vault,
          tokens: [{ address: fx.token }, { address: ZERO }],
          confirmations: DEPTH,
          startBlock,
          // both suites derive the same deposit addresses on one chain: the balance net (chainInternal.test.ts)
          // would rightly report the first suite's money at them as deposits of the second's orders
          balancePoll: { hot: false, cycleMs: 0 },
        },
        rpcOptions: { retry: { baseDelayMs: 10 } },
        hooks,
      });
      await follower.init();
      return follower;
    };
    const hooks = () => createOrderHooks({ poolCooldownSeconds: COOLDOWN });

    before(async () => {
      db =
        backend === "pglite" ? await openStore({ pgliteDir: "memory://" }) : await openStore({ databaseUrl: PG_URL, schema, poolSize: 5 });
      const config = resolveConfig({
        masterKey: randomBytes(32),
        poolCooldownSeconds: COOLDOWN,
        chains: [
          {
            chainId: CHAIN,
            code: "local",
            name: "Hardhat",
            vault: fx.vault,
            confirmations: DEPTH,
            tokens: [
              { symbol: "ETH", address: ZERO, decimals: 18 },
              { symbol: "USDT", address: fx.token, decimals: 6 },
            ],
          },
          // USDT accepted on a second chain (not followed here): a payer may switch an order to it
          {
            chainId: 137,
            code: "polygon",
            name: "Polygon",
            vault: fx.vault,
            confirmations: DEPTH,
            tokens: [{ symbol: "USDT", address: USDT_137, decimals: 6 }],
          },
        ] as any,
      });
      const merchant = await createMerchant(db, createSecretBox(config.masterKey), { name: "Shop", id: fx.merchantId });
      const app = await buildApp({ db, config });
      await app.listen({ host: "127.0.0.1", port: 0 });
      gw = {
        url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
        db,
        app,
        config,
        merchants: [merchant],
        close: async () => {},
      };
      f = await newFollower(hooks(), (await fx.blockNumber()) + 1n);
    });
    after(async () => {
      await gw?.app.close();
      if (backend === "postgres") await db?.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
      await db?.close();
    });

    const api = async (method: "GET" | "POST", path: string, payload: unknown) => {
      const res = await call(gw, gw.merchants[0]!, method, path, payload);
      assert.equal(res.body.code, 200, `${path}: ${JSON.stringify(res.body)}`);
      return res.body.data;
    };
    const createOrder = async (token: "USDT" | "ETH", amount: string) => {
      const o = await api("POST", "payment/createPaymentOrder", {
        outTradeNo: `o-${backend}-${++seq}`,
        chainId: CHAIN,
        quoteCurrencySymbol: token,
        quoteAmount: amount,
        notifyUrl: "https://shop.example.test/notify",
      });
      return { id: o.outPaymentNo as string, address: (o.userWalletAddress as string).toLowerCase() as Address };
    };
    const detail = (id: string) => api("GET", "payment/detail", { outPaymentNo: id });
    /** a user's detail by uuid (user/create answers the userId) */
    const createUser = async (uuid: string) => {
      await api("POST", "user/create", { uuid });
      return api("GET", "user/detail", { uuid });
    };
    const state = async (id: string) => {
      const [r] = await db.query("SELECT status, seen_amount, paid_amount, payer_address FROM payment_orders WHERE id = $1", [id]);
      return {
        status: Number(r!.status),
        seen: BigInt(r!.seen_amount),
        paid: BigInt(r!.paid_amount),
        payer: r!.payer_address as string | null,
      };
    };
    /** the order's webhooks in order: "type:state" */
    const events = async (id: string) =>
      (await db.query("SELECT type, payload FROM outbox_events WHERE aggregate_id = $1 ORDER BY id", [id])).map((r) => {
        const p = typeof r.payload === "string" ? JSON.parse(r.payload) : r.payload;
        return `${r.type}:${p.data.state}`;
      });
    const payToken = (to: Address, amount: bigint) => fx.write(fx.token, fx.tokenAbi, "transfer", [to, amount], fx.admin);
    /** mines `n` empty blocks and lets the follower see them */
    const advance = async (n: number) => {
      await fx.mine(n);
      await f.tick();
    };

    it("ERC-20 payment: 0 -> 2 (seen) -> 3 (confirming, with the count) -> 4 only at depth 3", async () => {
      const o = await createOrder("USDT", "10");
      const paid = await payToken(o.address, 10n * USD);
      await f.tick();
      assert.equal((await state(o.id)).status, 2);
      let d = await detail(o.id);
      assert.equal(d.state, 2);
      assert.equal(d.transfers.length, 1);
      assert.equal(d.transfers[0].transferHash, paid.transactionHash);
      assert.equal(d.transfers[0].confirmations, 1);
      assert.equal(d.transfers[0].late, false);
      await advance(1);
      d = await detail(o.id);
      assert.equal(d.state, 3, "one block on top: confirming");
      assert.equal(d.transfers[0].confirmations, 2);
      assert.equal((await state(o.id)).paid, 0n, "nothing paid before depth");
      await advance(1);
      const s = await state(o.id);
      assert.equal(s.status, 4);
      assert.equal(s.paid, 10n * USD);
      assert.equal(s.payer, fx.admin.toLowerCase(), "the payer is the sender, for refunds");
      d = await detail(o.id);
      assert.equal(d.transfers[0].status, "confirmed");
      assert.equal(d.overpaidAmount, "0");
      assert.deepEqual(await events(o.id), ["payment.status_changed:2", "payment.status_changed:3", "payment.status_changed:4"]);
      const [pool] = await db.query("SELECT order_id FROM address_pool WHERE address = $1", [o.address]);
      assert.equal(pool!.order_id, null, "the address rests in the pool after success");
      await advance(3);
      assert.equal((await events(o.id)).length, 3, "nothing reported twice on later blocks");
    });

    it("native payment from a wallet: 0 -> 2 -> 3 -> 4", async () => {
      const o = await createOrder("ETH", "1.5");
      await fx.send({ to: o.address, value: (3n * ETH) / 2n });
      await f.tick();
      assert.equal((await state(o.id)).status, 2);
      await advance(2);
      const s = await state(o.id);
      assert.deepEqual([s.status, s.paid, s.payer], [4, (3n * ETH) / 2n, fx.payer.toLowerCase()]);
      assert.deepEqual(await events(o.id), ["payment.status_changed:2", "payment.status_changed:3", "payment.status_changed:4"]);
    });

    it("partial payment stays incomplete (1), even confirmed, until topped up; then success", async () => {
      const o = await createOrder("USDT", "10");
      await payToken(o.address, 4n * USD);
      await f.tick();
      assert.equal((await state(o.id)).status, 1);
      await advance(3);
      let s = await state(o.id);
      assert.deepEqual([s.status, s.paid], [1, 4n * USD], "confirmed, but less than due");
      await payToken(o.address, 6n * USD);
      await f.tick();
      assert.equal((await state(o.id)).status, 2);
      await advance(2);
      s = await state(o.id);
      assert.deepEqual([s.status, s.paid, s.seen], [4, 10n * USD, 10n * USD]);
      assert.equal((await detail(o.id)).transfers.length, 2);
      assert.deepEqual(await events(o.id), [
        "payment.status_changed:1",
        "payment.status_changed:2",
        "payment.status_changed:3",
        "payment.status_changed:4",
      ]);
    });

    it("overpayment is success with the excess recorded and shown", async () => {
      const o = await createOrder("USDT", "10");
      await payToken(o.address, 15n * USD);
      await advance(2);
      const s = await state(o.id);
      assert.deepEqual([s.status, s.paid], [4, 15n * USD]);
      const d = await detail(o.id);
      assert.equal(d.overpaidAmount, (5n * USD).toString(), "base units");
    });

    it("late transfers after cancellation and after expiry are recorded on that order and shown", async () => {
      const cancelled = await createOrder("USDT", "10");
      await api("POST", "payment/cancel", { outPaymentNo: cancelled.id });
      const expired = await createOrder("USDT", "10");
      await db.query("UPDATE payment_orders SET expires_at = now() - interval '1 second' WHERE id = $1", [expired.id]);
      await expireDuePaymentOrders(db, { poolCooldownSeconds: COOLDOWN });
      assert.equal((await state(expired.id)).status, -2);
      await payToken(cancelled.address, 3n * USD);
      await payToken(expired.address, 10n * USD);
      await advance(2);
      for (const [o, status, amount] of [
        [cancelled, -3, 3n * USD],
        [expired, -2, 10n * USD],
      ] as const) {
        const s = await state(o.id);
        assert.deepEqual([s.status, s.seen, s.paid], [status, amount, amount], "state kept, money recorded");
        const d = await detail(o.id);
        assert.equal(d.transfers.length, 1);
        assert.equal(d.transfers[0].late, true);
        assert.equal(d.lateAmount, amount.toString());
        const ev = await events(o.id);
        assert.equal(ev.at(-1), `payment.late_transfer:${status}`);
      }
    });

    it("a deposit to a pool address that never had an order is kept as unattributed", async () => {
      const [idle] = await db.query(
        `SELECT a.address FROM address_pool a WHERE a.order_id IS NULL
           AND NOT EXISTS (SELECT 1 FROM payment_orders o WHERE o.receipt_address = a.address) ORDER BY a.pool_index DESC LIMIT 1`,
      );
      const to = idle!.address as Address;
      const t = await payToken(to, 7n);
      await fx.send({ to, value: 9n });
      await advance(2);
      const rows = await listUnattributedDeposits(db, CHAIN, to);
      assert.deepEqual(
        rows.map((r) => [r.amount, r.token, r.status, r.merchantId]).sort(),
        [
          [7n, fx.token.toLowerCase(), "confirmed", fx.merchantId],
          [9n, ZERO, "confirmed", fx.merchantId],
        ].sort(),
      );
      assert.ok(rows.some((r) => r.txHash === t.transactionHash));
    });

    it("a different token to a leased address is recorded against the order as unmatched, not counted", async () => {
      const o = await createOrder("USDT", "10");
      await fx.send({ to: o.address, value: 10n * ETH });
      await advance(2);
      const s = await state(o.id);
      assert.deepEqual([s.status, s.seen], [0, 0n], "the order still waits for USDT");
      const d = await detail(o.id);
      assert.equal(d.transfers.length, 1);
      assert.equal(d.transfers[0].counted, false);
      assert.equal(d.transfers[0].tokenAddress.toLowerCase(), ZERO);
      assert.equal(d.transfers[0].amount, (10n * ETH).toString());
      assert.deepEqual(await events(o.id), ["payment.unmatched_transfer:0"]);
      // and the right token still pays it
      await payToken(o.address, 10n * USD);
      await advance(2);
      assert.equal((await state(o.id)).status, 4);
    });

    it("after the payer switched network, what arrived before counts and a payment to the earlier address is recorded, not counted", async () => {
      const o = await createOrder("USDT", "10");
      await payToken(o.address, 4n * USD);
      await advance(DEPTH);
      assert.deepEqual([(await state(o.id)).status, (await state(o.id)).paid], [1, 4n * USD], "partly paid");
      const [usdt137] = await api("GET", "conf/list/currency", { chainId: 137 });
      const moved = await api("POST", "payment/payInfo/update", {
        chainId: 137,
        currencyId: usdt137.currencyId,
        outTradeNo: `o-${backend}-${seq}`,
      });
      assert.deepEqual([moved.chainId, moved.expectedAmount, moved.paidAmount], [137, (10n * USD).toString(), (4n * USD).toString()]);
      // the payer still sends 2 USDT on the first network, to the first address
      const late = await payToken(o.address, 2n * USD);
      await advance(DEPTH);
      const s = await state(o.id);
      assert.deepEqual([s.status, s.seen, s.paid], [1, 4n * USD, 4n * USD], "not counted: the order is paid on chain 137 now");
      const d = await detail(o.id);
      const t = d.transfers.find((x: { transferHash: string }) => x.transferHash === late.transactionHash);
      assert.ok(t, "recorded on the order");
      assert.deepEqual([t.chainId, t.counted, t.amount, t.status], [CHAIN, false, (2n * USD).toString(), "confirmed"]);
      assert.equal((await listUnattributedDeposits(db, CHAIN, o.address)).length, 0, "not unattributed");
      assert.equal((await events(o.id)).at(-1), "payment.unmatched_transfer:1");
    });

    it("recharge: two deposits to a user's address are two recharge orders, 2 -> 3 -> 4 at depth", async () => {
      const user = await createUser(`u-${backend}`);
      const wallet = (
        user.userWallet.find((w: { chainId: number }) => w.chainId === CHAIN).walletAddress as string
      ).toLowerCase() as Address;
      await f.tick(); // the new wallet is watched from the store
      const t1 = await payToken(wallet, 5n * USD);
      const t2 = await fx.send({ to: wallet, value: ETH });
      await f.tick();
      let rows = await db.query("SELECT * FROM recharge_orders WHERE to_address = $1 ORDER BY block_number", [wallet]);
      assert.deepEqual(
        rows.map((r) => [r.tx_hash, r.token_address, BigInt(r.amount), Number(r.status)]),
        [
          [t1.transactionHash, fx.token.toLowerCase(), 5n * USD, 3],
          [t2.transactionHash, ZERO, ETH, 2],
        ],
      );
      await advance(2);
      rows = await db.query("SELECT id, status FROM recharge_orders WHERE to_address = $1 ORDER BY block_number", [wallet]);
      assert.deepEqual(
        rows.map((r) => Number(r.status)),
        [4, 4],
      );
      for (const r of rows) {
        assert.deepEqual(await events(r.id), ["recharge.status_changed:2", "recharge.status_changed:3", "recharge.status_changed:4"]);
        const [e] = await db.query("SELECT aggregate_kind FROM outbox_events WHERE aggregate_id = $1 LIMIT 1", [r.id]);
        assert.equal(e!.aggregate_kind, "recharge");
      }
      const listed = await api("GET", "recharge/list", { UUID: `u-${backend}` });
      assert.equal(listed.list.length, 2);
    });

    it("reorg: the removed transfer moves the order back, the merchant is told, success never reported for it", async () => {
      const o = await createOrder("USDT", "10");
      const user = await createUser(`r-${backend}`);
      const wallet = (user.userWallet[0].walletAddress as string).toLowerCase() as Address;
      await f.tick();
      const snapshot = await node.rpc<string>("evm_snapshot");
      const orphan = await payToken(o.address, 10n * USD);
      await payToken(wallet, 2n * USD);
      await f.tick();
      assert.equal((await state(o.id)).status, 3, "seen, a block on top");
      await node.rpc("evm_revert", [snapshot]);
      await fx.mint(fx.paymentAddress(9_999n), 1n);
      await fx.mint(fx.paymentAddress(9_998n), 1n);
      await fx.mint(fx.paymentAddress(9_997n), 1n); // a longer, different chain
      const r = await f.tick();
      assert.equal(r.reorgs, 1);
      let s = await state(o.id);
      assert.deepEqual([s.status, s.seen, s.payer], [0, 0n, null]);
      let d = await detail(o.id);
      assert.equal(d.transfers[0].status, "removed");
      assert.equal(d.transfers[0].transferHash, orphan.transactionHash);
      assert.deepEqual(await events(o.id), ["payment.status_changed:2", "payment.status_changed:3", "payment.status_changed:0"]);
      const [rc] = await db.query("SELECT id, status FROM recharge_orders WHERE to_address = $1", [wallet]);
      assert.equal(Number(rc!.status), -1, "the recharge is dropped");
      await advance(4);
      assert.equal((await state(o.id)).status, 0, "never success for the removed transfer");
      assert.ok(!(await events(o.id)).some((e) => e.endsWith(":4")));
      // paid for real on the new chain
      await payToken(o.address, 10n * USD);
      await advance(2);
      s = await state(o.id);
      assert.deepEqual([s.status, s.paid], [4, 10n * USD]);
      d = await detail(o.id);
      assert.deepEqual(
        d.transfers.map((t: { status: string }) => t.status),
        ["removed", "confirmed"],
      );
    });

    it("batches are set-based: 2,000 payments and 5,000 unattributed deposits in a fixed number of queries", async () => {
      const N = 2_000;
      const chainId = 999; // a chain of its own: the rows are written straight to the hooks, not mined
      const token = fx.token.toLowerCase();
      const hex = (i: number, width: number) => "0x" + i.toString(16).padStart(width, "0");
      const orderId = (i: number) => `BATCH${String(i).padStart(21, "0")}`;
      await db.query(
        `INSERT INTO payment_orders (id, merchant_id, merchant_order_id, request_hash, chain_id, token_address, token_symbol, token_decimals,
           amount, notify_url, access_sign, expires_at, receipt_address, pool_index)
         SELECT 'BATCH' || lpad(i::text, 21, '0'), $1, 'batch-' || i, 'h', $2, $3, 'USDT', 6, 100, 'https://shop.example.test/n', 's',
           now() + interval '1 hour', '0x' || lpad(to_hex(i), 40, '0'), i
         FROM generate_series(1, $4::int) i`,
        [fx.merchantId, chainId, token, N],
      );
      await db.query(
        `INSERT INTO address_pool (merchant_id, chain_id, pool_index, address, order_id, leased_at)
         SELECT $1, $2, i, '0x' || lpad(to_hex(i), 40, '0'), 'BATCH' || lpad(i::text, 21, '0'), now() FROM generate_series(1, $3::int) i`,
        [fx.merchantId, chainId, N],
      );
      const deposit = (i: number, to: string): Deposit => ({
        chainId,
        blockNumber: 10n,
        blockHash: hex(10, 64),
        txHash: hex(i, 64),
        logIndex: 0,
        token,
        from: hex(0xbeef, 40),
        to,
        amount: 100n,
        source: "erc20",
      });
      // written as the follower writes them (the hooks get rows of chain_deposits)
      const paying = await insertDeposits(
        db,
        Array.from({ length: N }, (_, k) => deposit(k + 1, hex(k + 1, 40))),
      );
      const stray = await insertDeposits(
        db,
        Array.from({ length: 5_000 }, (_, k) => deposit(1_000_000 + k, hex(0xf00000 + k, 40))),
      );
      const h = hooks();
      const run = async (fn: (tx: Queryable) => Promise<void>) => {
        let queries = 0;
        const t0 = performance.now();
        await db.transaction((tx) => fn({ query: (sql, p) => (queries++, tx.query(sql, p)) }));
        return { queries, ms: Math.round(performance.now() - t0) };
      };
      const seen = await run((tx) => h.onSeen!(tx, { chainId, deposits: paying, vaultEvents: [] }));
      const confirmed = await run((tx) => h.onConfirmed!(tx, { chainId, deposits: paying, vaultEvents: [] }));
      const unattributed = await run((tx) => h.onSeen!(tx, { chainId, deposits: stray, vaultEvents: [] }));
      const again = await run((tx) => h.onSeen!(tx, { chainId, deposits: paying, vaultEvents: [] }));
      console.log(
        `[${backend}] ${N} payments seen ${seen.ms} ms/${seen.queries} queries, confirmed ${confirmed.ms} ms/${confirmed.queries} queries; 5000 unattributed ${unattributed.ms} ms/${unattributed.queries} queries`,
      );
      assert.ok(
        seen.queries <= 6 && confirmed.queries <= 7 && unattributed.queries <= 2,
        JSON.stringify({ seen, confirmed, unattributed }),
      );
      const [counts] = await db.query(
        `SELECT count(*) FILTER (WHERE status = 4)::int AS paid, count(*)::int AS n, sum(paid_amount)::text AS total
         FROM payment_orders WHERE chain_id = $1`,
        [chainId],
      );
      assert.deepEqual([counts!.paid, counts!.n, counts!.total], [N, N, String(100 * N)]);
      const [ev] = await db.query("SELECT count(*)::int AS n FROM outbox_events WHERE aggregate_id LIKE 'BATCH%'");
      assert.equal(ev!.n, 2 * N, "0 -> 2 and 2 -> 4, once each");
      assert.equal(again.queries, 4, "a repeated batch is recognised (no order write, no event)");
      const [un] = await db.query("SELECT count(*)::int AS n FROM unattributed_deposits WHERE chain_id = $1", [chainId]);
      assert.equal(un!.n, 5_000);
      assert.equal(orderId(1), "BATCH000000000000000000001");
    });

    it("a follower restarted after a failed write counts nothing twice", async () => {
      const o = await createOrder("USDT", "10");
      await payToken(o.address, 10n * USD);
      await f.tick();
      await fx.mine(2);
      let crashes = 1;
      const crashing = await newFollower(
        combineHooks(hooks(), {
          async onConfirmed() {
            if (crashes-- > 0) throw new Error("simulated crash after the order hooks ran");
          },
        }),
      );
      await assert.rejects(crashing.tick(), /simulated crash/);
      assert.equal((await state(o.id)).status, 3, "the failed confirmation left nothing");
      await crashing.stop();
      f = await newFollower(hooks()); // a restart: cursor, window and watched set from the store
      await f.tick();
      await advance(3);
      const s = await state(o.id);
      assert.deepEqual([s.status, s.seen, s.paid], [4, 10n * USD, 10n * USD]);
      assert.deepEqual(await events(o.id), ["payment.status_changed:2", "payment.status_changed:3", "payment.status_changed:4"]);
      const [n] = await db.query("SELECT count(*)::int AS n FROM payment_transfers WHERE pay_order_id = $1", [o.id]);
      assert.equal(Number(n!.n), 1);
    });
  });
}
