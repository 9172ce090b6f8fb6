/**
 * Every coin a payer sends is found, on a real `hardhat node` with the real follower, the order hooks, the
 * merchant API and the webhook notifier (PGlite): native coin a contract forwards to a deposit address that
 * has no code yet (an internal transfer: no log, no top-level transaction to it) is found from traces
 * (`debug_traceTransaction`, the one trace method Hardhat's EDR serves) and, without traces, by the balance
 * safety net; a transfer found by balance and later by its trace or log is counted once; a reorg removes a
 * balance-found deposit like any other. Reconciliation is clean after each test.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { after, afterEach, before, describe, it } from "node:test";
import type { Address } from "viem";
import { buildApp } from "../src/api/app.js";
import { createChainFollower, type ChainFollower, type FollowerChainConfig } from "../src/chain/follower.js";
import { createRpc, probeTraceSupport } from "../src/chain/rpc.js";
import { resolveConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { createOrderHooks } from "../src/ingest/index.js";
import { collectReconciliation, compareReconciliation, formatMismatches } from "../src/jobs/reconcile.js";
import { createOutboxWorker } from "../src/notify/index.js";
import type { Db } from "../src/store/db.js";
import { createMerchant, updateMerchantSettings } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { deployFixture, startFaultProxy, startHardhatNode, type FaultProxy, type Fixture, type HardhatNode } from "./chainHarness.js";
import { call, type TestGateway } from "./helpers.js";

const ZERO = "0x0000000000000000000000000000000000000000";
const ETH = 10n ** 18n;
const USD = 10n ** 6n;
const CHAIN = 31337;
const DEPTH = 3;

let node: HardhatNode;
let fx: Fixture;
let db: Db;
let gw: TestGateway;
let proxy: FaultProxy;
let sender: Address;
let f: ChainFollower;
let seq = 0;
/** event ids of the webhooks the merchant server received (X-PAY-EVENT-ID), in arrival order */
const received: string[] = [];
let merchantServer: http.Server;
let notifyUrl: string;
let deliver: () => Promise<number>;

before(async () => {
  [node, db] = await Promise.all([startHardhatNode(), openStore({ pgliteDir: "memory://" })]);
  fx = await deployFixture(node);
  sender = await fx.deployNativeSender();
  await fx.mint(fx.admin, 1_000_000n * USD);
  proxy = await startFaultProxy(node.url, {});
  merchantServer = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received.push(String(req.headers["x-pay-event-id"] ?? req.headers["webhook-id"]));
      res.end("success");
    });
  });
  await new Promise<void>((r) => merchantServer.listen(0, "127.0.0.1", r));
  notifyUrl = `http://127.0.0.1:${(merchantServer.address() as { port: number }).port}/notify`;
  const config = resolveConfig({
    masterKey: randomBytes(32),
    poolCooldownSeconds: 3600,
    allowPrivateWebhookTargets: true,
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
    ] as any,
  });
  const box = createSecretBox(config.masterKey);
  const merchant = await createMerchant(db, box, { name: "Shop", id: fx.merchantId, rechargeNotifyUrl: notifyUrl });
  // every state change is called back (not only the final ones), so "exactly once" is checked for each
  await updateMerchantSettings(db, box, merchant.merchantId, { callbackAllEvents: true });
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
  const worker = createOutboxWorker({ db, config, box, allowPrivateTargets: true, retryScheduleMs: [100] });
  deliver = () => worker.runOnce();
  start = (await fx.blockNumber()) + 1n;
});
after(async () => {
  await gw?.app.close();
  await proxy?.close();
  merchantServer?.close();
  await db?.close();
  node?.stop();
});

let start = 0n;
/** A follower in the given mode; the cursor and the window come from the store, so modes can take turns. */
async function follower(o: Partial<FollowerChainConfig> & { rpcUrl?: string } = {}) {
  const next = createChainFollower({
    db,
    chain: {
      chainId: CHAIN,
      rpcUrl: proxy.url,
      vault: fx.vault,
      tokens: [{ address: fx.token }, { address: ZERO }],
      confirmations: DEPTH,
      startBlock: start,
      ...o,
    },
    rpcOptions: { retry: { baseDelayMs: 10 } },
    hooks: createOrderHooks({ poolCooldownSeconds: 3600 }),
  });
  await next.init();
  return next;
}

const api = async (method: "GET" | "POST", path: string, payload: unknown) => {
  const res = await call(gw, gw.merchants[0]!, method, path, payload);
  assert.equal(res.body.code, 200, `${path}: ${JSON.stringify(res.body)}`);
  return res.body.data;
};
const createOrder = async (token: "USDT" | "ETH", amount: string) => {
  const o = await api("POST", "payment/createPaymentOrder", {
    outTradeNo: `i-${++seq}`,
    chainId: CHAIN,
    quoteCurrencySymbol: token,
    quoteAmount: amount,
    notifyUrl,
  });
  return { id: o.outPaymentNo as string, address: (o.userWalletAddress as string).toLowerCase() as Address };
};
const createUserWallet = async () => {
  const uuid = `u-${++seq}`;
  await api("POST", "user/create", { uuid });
  const u = await api("GET", "user/detail", { uuid });
  return (u.userWallet.find((w: { chainId: number }) => w.chainId === CHAIN).walletAddress as string).toLowerCase() as Address;
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
const outbox = async (id: string) =>
  (await db.query("SELECT type, payload FROM outbox_events WHERE aggregate_id = $1 ORDER BY id", [id])).map((r) => {
    const p = typeof r.payload === "string" ? JSON.parse(r.payload) : r.payload;
    return `${r.type}:${p.data.state ?? p.data.status}`;
  });
/** Delivers due webhooks; each of the aggregate's events reached the merchant exactly once. */
async function deliveredOnce(aggregateId: string) {
  for (let i = 0; i < 20 && (await deliver()) > 0; i++); // one event per order per round, in order
  const ids = (await db.query<{ id: string }>("SELECT id FROM outbox_events WHERE aggregate_id = $1 ORDER BY id", [aggregateId])).map(
    (r) => r.id,
  );
  assert.ok(ids.length > 0);
  assert.deepEqual(
    received.filter((id) => ids.includes(id)),
    ids,
    "each webhook delivered once, in order",
  );
}
const advance = async (n: number) => {
  await fx.mine(n);
  return f.tick();
};
const hasCode = async (a: Address) => (await node.rpc<string>("eth_getCode", [a, "latest"])) !== "0x";
const deposits = (to: string) =>
  db.query(
    "SELECT id, source, amount, tx_hash, log_index, status, absorbed_by, absorbed_amount FROM chain_deposits WHERE to_address = $1 ORDER BY id",
    [to],
  );

/** The books agree with the chain at the follower's confirmed block. */
async function reconcileClean() {
  await advance(DEPTH); // everything at depth
  const input = await collectReconciliation({ db, client: fx.publicClient, chainId: CHAIN, vault: fx.vault, tokens: [fx.token, ZERO] });
  const m = compareReconciliation(input);
  if (m.length)
    console.log(await db.query("SELECT to_address, source, amount, block_number, status, absorbed_by FROM chain_deposits ORDER BY id"));
  assert.deepEqual(m, [], formatMismatches(m));
}

afterEach(async () => {
  proxy.set({ dropLogs: false, failRate: 0 });
});

describe("what the node serves", () => {
  it("Hardhat's EDR traces transactions with the call tracer, not blocks", async () => {
    const support = await probeTraceSupport(createRpc({ chainId: CHAIN, url: node.url, retry: { maxAttempts: 2, baseDelayMs: 10 } }));
    assert.deepEqual(
      [support.debug_traceBlock, support.trace_block, support.debug_traceTransaction],
      [false, false, true],
      JSON.stringify(support),
    );
    assert.equal(support.recommended, "debug_traceTransaction");
  });
});

describe("internal native transfers from traces (debug_traceTransaction)", () => {
  before(async () => {
    f = await follower({ trace: "debug_traceTransaction", balancePoll: { cycleMs: 0 } });
  });

  it("a contract forwards native coin to an unpaid order's address without code: success exactly once, webhook included", async () => {
    const o = await createOrder("ETH", "1.25");
    assert.equal(await hasCode(o.address), false, "the address is not deployed");
    const paid = await fx.forwardNative(sender, o.address, (5n * ETH) / 4n);
    const r = await f.tick();
    assert.equal(r.foundByBalance, 0, "traces found it, not the balance net");
    assert.equal((await state(o.id)).status, 2);
    await advance(1);
    await advance(1);
    const s = await state(o.id);
    assert.deepEqual([s.status, s.paid, s.payer], [4, (5n * ETH) / 4n, sender.toLowerCase()], "the forwarding contract is the sender");
    const rows = await deposits(o.address);
    assert.deepEqual(
      rows.map((d) => [d.source, BigInt(d.amount), d.tx_hash, Number(d.log_index)]),
      [["native_trace", (5n * ETH) / 4n, paid.transactionHash, -2]],
    );
    const d = await api("GET", "payment/detail", { outPaymentNo: o.id });
    assert.equal(d.transfers.length, 1);
    assert.equal(d.transfers[0].foundBy, "trace");
    await advance(3);
    assert.deepEqual(await outbox(o.id), ["payment.status_changed:2", "payment.status_changed:3", "payment.status_changed:4"]);
    await deliveredOnce(o.id);
    await reconcileClean();
  });

  it("the same to a recharge address creates one recharge", async () => {
    const wallet = await createUserWallet();
    await f.tick(); // watched from the store
    const paid = await fx.forwardNative(sender, wallet, 3n * ETH);
    await advance(DEPTH);
    const rows = await db.query("SELECT id, status, amount, tx_hash, log_index FROM recharge_orders WHERE to_address = $1", [wallet]);
    assert.deepEqual(
      rows.map((r) => [Number(r.status), BigInt(r.amount), r.tx_hash, Number(r.log_index)]),
      [[4, 3n * ETH, paid.transactionHash, -2]],
    );
    await advance(2);
    assert.equal((await db.query("SELECT 1 FROM recharge_orders WHERE to_address = $1", [wallet])).length, 1, "still one");
    assert.deepEqual(await outbox(rows[0]!.id), ["recharge.status_changed:2", "recharge.status_changed:3", "recharge.status_changed:4"]);
    await deliveredOnce(rows[0]!.id);
    await reconcileClean();
  });

  it("an internal transfer to a deployed deposit address is one row: its LOG3, not the trace frame too", async () => {
    const o = await createOrder("ETH", "2");
    const key = BigInt((await db.query("SELECT pool_index FROM address_pool WHERE address = $1", [o.address]))[0]!.pool_index);
    await fx.write(fx.vault, fx.vaultAbi, "deployDepositAddresses", [[fx.paymentSalt(key)]]);
    assert.equal(await hasCode(o.address), true);
    await fx.forwardNative(sender, o.address, 2n * ETH);
    await advance(DEPTH);
    assert.deepEqual(
      (await deposits(o.address)).map((d) => d.source),
      ["native_log"],
    );
    assert.deepEqual([(await state(o.id)).status, (await state(o.id)).paid], [4, 2n * ETH]);
    await reconcileClean();
  });
});

describe("the balance safety net (no traces)", () => {
  before(async () => {
    f = await follower({ trace: "off", balancePoll: { cycleMs: 0 } });
  });

  it("a contract forwards native coin to an unpaid order's address: found by balance, success exactly once, webhook included", async () => {
    const o = await createOrder("ETH", "0.5");
    const paid = await fx.forwardNative(sender, o.address, ETH / 2n);
    const r = await f.tick();
    assert.equal(r.foundByBalance, 1);
    assert.equal((await state(o.id)).status, 2);
    const [row] = await deposits(o.address);
    assert.deepEqual(
      [row!.source, BigInt(row!.amount), row!.tx_hash],
      ["balance", ETH / 2n, `balance:${paid.blockNumber}:${o.address}:${ZERO}`],
    );
    await advance(1);
    assert.equal((await state(o.id)).status, 3);
    await advance(1);
    const s = await state(o.id);
    assert.deepEqual([s.status, s.paid, s.payer], [4, ETH / 2n, null], "paid; no sender is known, so no payer");
    await advance(3);
    assert.equal((await deposits(o.address)).length, 1, "found once, not again at every block");
    assert.deepEqual(await outbox(o.id), ["payment.status_changed:2", "payment.status_changed:3", "payment.status_changed:4"]);
    await deliveredOnce(o.id);
    const d = await api("GET", "payment/detail", { outPaymentNo: o.id });
    assert.deepEqual([d.transfers[0].foundBy, d.transfers[0].fromAddress, d.transfers[0].matchedTxHashes], ["balance", null, []]);
    await reconcileClean();

    // later, with traces on (a new RPC, say), the same blocks are read again: the trace is the same money
    const traced = await follower({ trace: "debug_traceTransaction", balancePoll: { cycleMs: 0 } });
    const again = await traced.rescan(paid.blockNumber, paid.blockNumber);
    assert.deepEqual(again, { deposits: 0, absorbed: 1, vaultEvents: 0 });
    const rows = await deposits(o.address);
    assert.deepEqual(
      rows.map((x) => [x.source, BigInt(x.amount), x.absorbed_by === null ? null : "absorbed", BigInt(x.absorbed_amount)]),
      [
        ["balance", ETH / 2n, null, ETH / 2n],
        ["native_trace", ETH / 2n, "absorbed", 0n],
      ],
    );
    const s2 = await state(o.id);
    assert.deepEqual([s2.status, s2.seen, s2.paid], [4, ETH / 2n, ETH / 2n], "counted once");
    assert.equal((await outbox(o.id)).length, 3, "no new webhook");
    assert.deepEqual((await api("GET", "payment/detail", { outPaymentNo: o.id })).transfers[0].matchedTxHashes, [paid.transactionHash]);
    assert.deepEqual(
      await traced.rescan(paid.blockNumber, paid.blockNumber),
      { deposits: 0, absorbed: 0, vaultEvents: 0 },
      "a second rescan finds nothing new",
    );
    await reconcileClean();
  });

  it("the same to a recharge address creates one recharge", async () => {
    const wallet = await createUserWallet();
    await f.tick();
    await fx.forwardNative(sender, wallet, 7n * ETH);
    const r = await f.tick();
    assert.equal(r.foundByBalance, 1, "a new user's address is checked every block");
    await advance(DEPTH);
    const rows = await db.query("SELECT id, status, amount, tx_hash, from_address FROM recharge_orders WHERE to_address = $1", [wallet]);
    assert.equal(rows.length, 1);
    assert.deepEqual(
      [Number(rows[0]!.status), BigInt(rows[0]!.amount), String(rows[0]!.tx_hash).startsWith("balance:")],
      [4, 7n * ETH, true],
    );
    assert.deepEqual(await outbox(rows[0]!.id), ["recharge.status_changed:2", "recharge.status_changed:3", "recharge.status_changed:4"]);
    await deliveredOnce(rows[0]!.id);
    await reconcileClean();
  });

  it("a reorg removing a balance-found deposit rolls it back", async () => {
    const o = await createOrder("ETH", "1");
    const snapshot = await node.rpc<string>("evm_snapshot");
    await fx.forwardNative(sender, o.address, ETH);
    await f.tick();
    await advance(1);
    assert.equal((await state(o.id)).status, 3, "found by balance, a block on top");
    await node.rpc("evm_revert", [snapshot]);
    await fx.mine(3); // a longer branch without the payment
    const r = await f.tick();
    assert.equal(r.reorgs, 1);
    const s = await state(o.id);
    assert.deepEqual([s.status, s.seen, s.paid], [0, 0n, 0n]);
    assert.deepEqual(await outbox(o.id), ["payment.status_changed:2", "payment.status_changed:3", "payment.status_changed:0"]);
    const d = await api("GET", "payment/detail", { outPaymentNo: o.id });
    assert.deepEqual([d.transfers[0].status, d.transfers[0].foundBy], ["removed", "balance"]);
    assert.equal((await deposits(o.address)).length, 0);
    await advance(DEPTH + 1);
    assert.equal((await state(o.id)).status, 0, "never success, nothing found again: the money is not there");
    // paid for real on the new branch: found again, at its new block
    await fx.forwardNative(sender, o.address, ETH);
    await f.tick();
    await advance(DEPTH - 1);
    assert.deepEqual([(await state(o.id)).status, (await state(o.id)).paid], [4, ETH]);
    await reconcileClean();
  });

  it("a reorg removing a balance-found deposit that had absorbed an older transfer reports that transfer in its own right", async () => {
    const o = await createOrder("ETH", "0.3");
    const paid = await fx.forwardNative(sender, o.address, (3n * ETH) / 10n); // block M
    const afterM = await node.rpc<string>("evm_snapshot");
    await fx.mine(1);
    await f.tick(); // read at M + 1: the balance row is at M + 1
    await advance(1); // tip M + 2, boundary M: the balance row is not at depth yet
    const [b] = await deposits(o.address);
    assert.deepEqual([b!.source, BigInt(b!.amount)], ["balance", (3n * ETH) / 10n]);
    const traced = await follower({ trace: "debug_traceTransaction", balancePoll: { cycleMs: 0 } });
    assert.deepEqual(await traced.rescan(paid.blockNumber, paid.blockNumber), { deposits: 0, absorbed: 1, vaultEvents: 0 });
    assert.equal((await state(o.id)).status, 3, "the balance row stands for it");
    await node.rpc("evm_revert", [afterM]); // M stays, M + 1 and M + 2 are replaced (by blocks that differ from them)
    await fx.mint(fx.paymentAddress(9_990n), 1n);
    await fx.mine(2);
    const r = await f.tick();
    assert.equal(r.reorgs, 1);
    const rows = await deposits(o.address);
    assert.deepEqual(
      rows.map((x) => [x.source, x.tx_hash, x.absorbed_by, x.status]),
      [["native_trace", paid.transactionHash, null, "confirmed"]],
      "the balance row went with its block; the transfer it had absorbed is on its own",
    );
    const s = await state(o.id);
    assert.deepEqual(
      [s.status, s.paid, s.payer],
      [4, (3n * ETH) / 10n, sender.toLowerCase()],
      "paid by the transfer itself now, with its sender",
    );
    assert.deepEqual(await outbox(o.id), [
      "payment.status_changed:2",
      "payment.status_changed:3",
      "payment.status_changed:0",
      "payment.status_changed:2",
      "payment.status_changed:4",
    ]);
    await advance(2);
    assert.equal((await deposits(o.address)).length, 1, "not found again by balance");
    await reconcileClean();
  });

  it("an ERC-20 payment the RPC dropped is found by the slow cycle, and its log later is counted once", async () => {
    f = await follower({ trace: "off", balancePoll: { cycleMs: 1, cycleBatch: 10_000 } }); // every handed-out address at every block
    const o = await createOrder("USDT", "12");
    await f.tick();
    proxy.set({ dropLogs: true });
    const paid = await fx.write(fx.token, fx.tokenAbi, "transfer", [o.address, 12n * USD], fx.admin);
    const r = await f.tick();
    proxy.set({ dropLogs: false });
    assert.deepEqual(
      (await deposits(o.address)).map((d) => [d.source, BigInt(d.amount)]),
      [["balance", 12n * USD]],
      `the log was dropped; the balance shows it (found ${r.foundByBalance} of ${r.balancesRead} read)`,
    );
    await advance(DEPTH);
    assert.deepEqual([(await state(o.id)).status, (await state(o.id)).paid], [4, 12n * USD]);
    await reconcileClean();
    const again = await f.rescan(paid.blockNumber, paid.blockNumber);
    assert.deepEqual(again, { deposits: 0, absorbed: 1, vaultEvents: 0 });
    assert.deepEqual([(await state(o.id)).status, (await state(o.id)).paid], [4, 12n * USD], "counted once");
    assert.equal((await outbox(o.id)).length, 3);
    await reconcileClean();
  });
});
