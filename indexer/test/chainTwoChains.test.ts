/**
 * Two chains at once, through the whole runtime (API, one follower per chain, notifier, movers) on two
 * `hardhat node`s with different chain ids and the vault at the same address on both (deterministic
 * deployment proxy): a user's recharge address is the same on both; payments and recharges on each are
 * followed, confirmed at each chain's own depth (2 and 4) and swept on their own chain; a reorg on one
 * leaves the other untouched; one chain's RPC down leaves the other working and health says which.
 * Chain A reads internal transfers by balance, chain B from traces. Reconciliation is clean on both.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import type { Address, Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { createPayClient, type PayClient } from "../../sdk/src/index.js";
import { resolveConfig, type GatewayConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { DepositKind, depositAddress } from "../src/domain/depositAddress.js";
import { collectReconciliation, compareReconciliation, formatMismatches } from "../src/jobs/reconcile.js";
import { startGateway, type Gateway } from "../src/runtime/gateway.js";
import type { Db } from "../src/store/db.js";
import { createMerchant, updateMerchantSettings } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import {
  deployFixture,
  freePort,
  startFaultProxy,
  startHardhatNode,
  type FaultProxy,
  type Fixture,
  type HardhatNode,
  until,
} from "./chainHarness.js";

const MNEMONIC = "test test test test test test test test test test test junk";
const adminKey = `0x${Buffer.from(mnemonicToAccount(MNEMONIC, { addressIndex: 0 }).getHdKey().privateKey!).toString("hex")}` as Hex;
const NATIVE = "0x0000000000000000000000000000000000000000" as Address;
const ETH = 10n ** 18n;
const A_ID = 31337;
const B_ID = 31338;
const DEPTH = { [A_ID]: 2, [B_ID]: 4 } as Record<number, number>;

describe("two chains at once", { timeout: 300_000 }, () => {
  const nodes: Record<number, HardhatNode> = {};
  const fx: Record<number, Fixture> = {};
  const senders: Record<number, Address> = {};
  const mining: Record<number, boolean> = { [A_ID]: true, [B_ID]: true };
  let proxyB: FaultProxy;
  let db: Db;
  let config: GatewayConfig;
  let gateway: Gateway;
  let client: PayClient;
  let miner: NodeJS.Timeout | undefined;
  let server: http.Server;
  let notifyUrl: string;
  const webhooks: string[] = [];
  let seq = 0;

  before(async () => {
    [nodes[A_ID], nodes[B_ID], db] = await Promise.all([
      startHardhatNode(),
      startHardhatNode({ chainId: B_ID }),
      openStore({ pgliteDir: "memory://" }),
    ]);
    fx[A_ID] = await deployFixture(nodes[A_ID]!, { deterministic: true });
    fx[B_ID] = await deployFixture(nodes[B_ID]!, { deterministic: true });
    for (const id of [A_ID, B_ID]) senders[id] = await fx[id]!.deployNativeSender();
    proxyB = await startFaultProxy(nodes[B_ID]!.url, {});
    server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        webhooks.push(String(req.headers["x-pay-event-id"]));
        res.end("success");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    notifyUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/notify`;
    const chain = (id: number, code: string, rpcUrl: string, extra: object) => ({
      chainId: id,
      code,
      name: `hardhat node ${id}`,
      vault: fx[id]!.vault,
      confirmations: DEPTH[id]!,
      rpcUrl,
      startBlock: 0,
      tokens: [
        { symbol: "USDT", address: fx[id]!.token, decimals: 6, priceWei: "333333333" },
        { symbol: "ETH", address: NATIVE, decimals: 18 },
      ],
      ...extra,
    });
    config = resolveConfig({
      masterKey: randomBytes(32),
      host: "127.0.0.1",
      port: await freePort(),
      logLevel: "silent",
      operatorKey: adminKey,
      allowPrivateWebhookTargets: true,
      chains: [
        chain(A_ID, "local", nodes[A_ID]!.url, { trace: "off", balancePoll: { cycleMs: 500 } }),
        chain(B_ID, "local2", proxyB.url, { trace: "debug_traceTransaction", balancePoll: { cycleMs: 500 } }),
      ],
    });
    const m = await createMerchant(db, createSecretBox(config.masterKey), {
      id: fx[A_ID]!.merchantId,
      name: "Shop",
      feeBps: 100,
      rechargeNotifyUrl: notifyUrl,
    });
    // every state change is called back (not only the final ones), so "each event once" is checked for each
    await updateMerchantSettings(db, createSecretBox(config.masterKey), m.merchantId, { callbackAllEvents: true });
    gateway = await startGateway({ config, db, pollIntervalMs: 100, moverIntervalMs: 300, retryScheduleMs: [200] });
    client = createPayClient({ baseUrl: gateway.url!, apiKey: m.apiKey, apiSecret: m.apiSecret });
    // blocks keep coming on both chains, as on real ones (each can be paused)
    miner = setInterval(() => {
      for (const id of [A_ID, B_ID]) if (mining[id]) void nodes[id]!.rpc("evm_mine").catch(() => {});
    }, 250);
  });

  after(async () => {
    clearInterval(miner);
    await gateway?.stop();
    await proxyB?.close();
    server?.close();
    await db?.close();
    for (const n of Object.values(nodes)) n.stop();
  });

  const order = async (chainId: number, token: "USDT" | "ETH", amount: string) =>
    client.payment.create({ outTradeNo: `two-${++seq}`, chainId, quoteCurrencySymbol: token, quoteAmount: amount, notifyUrl });
  const stateOf = async (outPaymentNo: string) => (await client.payment.detail({ outPaymentNo })).state;
  const reconcileClean = async (chainId: number) => {
    const input = await collectReconciliation({
      db,
      client: fx[chainId]!.publicClient,
      chainId,
      vault: fx[chainId]!.vault,
      tokens: [fx[chainId]!.token, NATIVE],
    });
    const m = compareReconciliation(input);
    assert.deepEqual(m, [], formatMismatches(m));
  };
  const tipOf = (chainId: number) => gateway.followers.find((f) => f.chainId === chainId)!.status().tip;

  it("the vault, and so a user's recharge address, is the same on both chains", async () => {
    assert.equal(fx[A_ID]!.vault, fx[B_ID]!.vault);
    assert.equal(fx[A_ID]!.token, fx[B_ID]!.token);
    await client.user.create({ uuid: "both" });
    const user = await client.user.detail({ uuid: "both" });
    const wallets = user.userWallet.map((w) => [w.chainId, w.walletAddress.toLowerCase()]);
    const expected = depositAddress({ vault: fx[A_ID]!.vault, merchantId: 1n, kind: DepositKind.Recharge, key: 1n }).toLowerCase();
    assert.deepEqual(wallets, [
      [A_ID, expected],
      [B_ID, expected],
    ]);
  });

  it("payments on each chain are confirmed at that chain's own depth", async () => {
    const a = await order(A_ID, "USDT", "10");
    const b = await order(B_ID, "ETH", "1");
    mining[A_ID] = mining[B_ID] = false;
    try {
      await fx[A_ID]!.mint(fx[A_ID]!.payer, 100_000_000n);
      await fx[A_ID]!.write(fx[A_ID]!.token, fx[A_ID]!.tokenAbi, "transfer", [a.userWalletAddress, 10_000_000n], fx[A_ID]!.payer);
      // on B the payer pays through a contract: an internal transfer, found in its trace
      const paidB = await fx[B_ID]!.forwardNative(senders[B_ID]!, b.userWalletAddress as Address, ETH);
      await until(
        "both seen",
        async () => [await stateOf(a.outPaymentNo), await stateOf(b.outPaymentNo)],
        ([x, y]) => x === 2 && y === 2,
      );
      await fx[A_ID]!.mine(1);
      await until(
        "A at depth 2",
        () => stateOf(a.outPaymentNo),
        (s) => s === 4,
      );
      await fx[B_ID]!.mine(2);
      await until(
        "B follower at the new tip",
        async () => tipOf(B_ID),
        (t) => t >= paidB.blockNumber + 2n,
      );
      assert.equal(await stateOf(b.outPaymentNo), 3, "B has 3 of its 4 confirmations: still confirming");
      await fx[B_ID]!.mine(1);
      await until(
        "B at depth 4",
        () => stateOf(b.outPaymentNo),
        (s) => s === 4,
      );
    } finally {
      mining[A_ID] = mining[B_ID] = true;
    }
    const d = await client.payment.detail({ outPaymentNo: b.outPaymentNo });
    assert.equal(d.transfers[0]!.foundBy, "trace");
    const [rows] = await db.query(
      "SELECT count(*)::int AS n FROM payment_orders WHERE id IN ($1, $2) AND chain_id = CASE WHEN id = $1 THEN $3::bigint ELSE $4::bigint END",
      [a.outPaymentNo, b.outPaymentNo, A_ID, B_ID],
    );
    assert.equal(rows!.n, 2);
  });

  it("a recharge on each chain to the same address is one recharge on that chain; both are swept on their own chain", async () => {
    const user = await client.user.detail({ uuid: "both" });
    const address = (user as any).userWallet[0].walletAddress as Address;
    await fx[A_ID]!.forwardNative(senders[A_ID]!, address, 2n * ETH); // A: no traces, found by balance
    await fx[B_ID]!.forwardNative(senders[B_ID]!, address, 3n * ETH); // B: from the trace
    const recharges = await until(
      "a recharge on each chain at success",
      () =>
        db.query("SELECT chain_id, amount, status, tx_hash FROM recharge_orders WHERE to_address = $1 ORDER BY chain_id", [
          address.toLowerCase(),
        ]),
      (rows) => rows.length === 2 && rows.every((r) => Number(r.status) === 4),
    );
    assert.deepEqual(
      recharges.map((r) => [Number(r.chain_id), BigInt(r.amount), String(r.tx_hash).startsWith("balance:")]),
      [
        [A_ID, 2n * ETH, true],
        [B_ID, 3n * ETH, false],
      ],
    );
    // swept into each chain's own vault: A holds the USDT payment and A's recharge, B the ETH payment and B's recharge
    const account = (id: number, token: Address) =>
      fx[id]!.publicClient.readContract({
        address: fx[id]!.vault,
        abi: fx[id]!.vaultAbi,
        functionName: "accountOf",
        args: [1n, token],
      }) as Promise<[bigint, bigint]>;
    await until(
      "A's sweeps",
      async () => [await account(A_ID, fx[A_ID]!.token), await account(A_ID, NATIVE)],
      ([u, e]) => u[0] + u[1] === 10_000_000n && e[0] + e[1] === 2n * ETH,
      60_000,
    );
    await until(
      "B's sweeps",
      async () => account(B_ID, NATIVE),
      (e) => e[0] + e[1] === 4n * ETH,
      60_000,
    );
    assert.deepEqual(await account(B_ID, fx[B_ID]!.token), [0n, 0n], "no USDT was paid on B");
    const sweeps = await until(
      "sweeps confirmed",
      () => db.query("SELECT chain_id, token, status FROM sweeps ORDER BY chain_id, token"),
      (rows) => rows.length >= 3 && rows.every((r) => r.status === "confirmed"),
      60_000,
    );
    assert.deepEqual(
      [...new Set(sweeps.map((s) => `${s.chain_id}:${s.token}`))].sort(),
      [`${A_ID}:${NATIVE}`, `${A_ID}:${fx[A_ID]!.token.toLowerCase()}`, `${B_ID}:${NATIVE}`].sort(),
    );
    for (const id of [A_ID, B_ID]) {
      await until(
        `${id}'s sweep events at depth`,
        () => db.query("SELECT 1 FROM chain_vault_events WHERE chain_id = $1 AND name = 'Swept' AND status = 'seen'", [id]),
        (r) => r.length === 0,
      );
      await reconcileClean(id);
    }
  });

  it("a reorg on one chain leaves the other untouched", async () => {
    const b = await order(B_ID, "ETH", "0.5");
    const a = await order(A_ID, "ETH", "0.25");
    mining[B_ID] = false;
    const nodeB = nodes[B_ID]!;
    const snapshot = await nodeB.rpc<string>("evm_snapshot");
    try {
      await fx[B_ID]!.send({ to: b.userWalletAddress as Address, value: ETH / 2n });
      await until(
        "B seen",
        () => stateOf(b.outPaymentNo),
        (s) => s === 2,
      );
      const aBefore = await db.query("SELECT tx_hash, log_index, status FROM chain_deposits WHERE chain_id = $1 ORDER BY id", [A_ID]);
      await nodeB.rpc("evm_revert", [snapshot]);
      await fx[B_ID]!.mine(6); // a longer branch without the payment
      await until(
        "B rolled back",
        () => stateOf(b.outPaymentNo),
        (s) => s === 0,
      );
      await fx[A_ID]!.forwardNative(senders[A_ID]!, a.userWalletAddress as Address, ETH / 4n);
      await until(
        "A's payment still goes through",
        () => stateOf(a.outPaymentNo),
        (s) => s === 4,
      );
      const aAfter = await db.query("SELECT tx_hash, log_index, status FROM chain_deposits WHERE chain_id = $1 ORDER BY id", [A_ID]);
      assert.deepEqual(
        aAfter.slice(0, aBefore.length).map((r) => `${r.tx_hash}:${r.log_index}`),
        aBefore.map((r) => `${r.tx_hash}:${r.log_index}`),
        "A's rows untouched",
      );
      const [events] = await db.query(
        "SELECT count(*)::int AS n FROM outbox_events e JOIN payment_orders o ON o.id = e.aggregate_id WHERE o.chain_id = $1 AND e.payload::text LIKE '%reorg%'",
        [A_ID],
      );
      assert.equal(events!.n, 0, "no reorg event on A");
    } finally {
      mining[B_ID] = true;
    }
    await reconcileClean(A_ID);
  });

  it("one chain's RPC down leaves the other working, and health says which is down", async () => {
    proxyB.set({ failRate: 1 });
    try {
      const health = await until(
        "B reported down",
        async () =>
          (await (await fetch(`${gateway.url}/health`)).json()) as { chains: { chainId: number; rpc: string; error: string | null }[] },
        (h) => h.chains.find((c) => c.chainId === B_ID)?.rpc === "down",
      );
      const [a, b] = [health.chains.find((c) => c.chainId === A_ID)!, health.chains.find((c) => c.chainId === B_ID)!];
      assert.deepEqual([a.rpc, a.error], ["up", null]);
      assert.match(b.error ?? "", /RPC .* on chain 31338 failed/);
      const o = await order(A_ID, "USDT", "3");
      await fx[A_ID]!.write(fx[A_ID]!.token, fx[A_ID]!.tokenAbi, "transfer", [o.userWalletAddress, 3_000_000n], fx[A_ID]!.payer);
      await until(
        "A pays while B is down",
        () => stateOf(o.outPaymentNo),
        (s) => s === 4,
      );
      const statusB = gateway.followers.find((f) => f.chainId === B_ID)!.status();
      assert.equal(statusB.rpcUp, false);
    } finally {
      proxyB.set({ failRate: 0 });
    }
    await until(
      "B back up",
      async () => (await gateway.health()).chains.find((c) => c.chainId === B_ID)!.rpc,
      (r) => r === "up",
    );
    const o = await order(B_ID, "ETH", "0.1");
    await fx[B_ID]!.send({ to: o.userWalletAddress as Address, value: ETH / 10n });
    await until(
      "B pays again",
      () => stateOf(o.outPaymentNo),
      (s) => s === 4,
    );
    const lagB = gateway.followers.find((f) => f.chainId === B_ID)!.status();
    assert.ok(lagB.head >= lagB.tip && lagB.lag <= 5n, `B caught up: ${lagB.head} / ${lagB.tip}`);
  });

  it("every webhook was delivered once; reconciliation is clean on both chains", async () => {
    await until(
      "all delivered",
      () => db.query("SELECT id FROM outbox_events WHERE delivered_at IS NULL"),
      (r) => r.length === 0,
    );
    const ids = (await db.query<{ id: string }>("SELECT id FROM outbox_events ORDER BY id")).map((r) => r.id);
    assert.deepEqual([...webhooks].sort(), ids, "each event once");
    for (const id of [A_ID, B_ID]) await reconcileClean(id);
  });
});
