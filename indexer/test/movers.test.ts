/**
 * Money movers on a real `hardhat node`, through the whole runtime (API, follower, notifier, movers):
 * deposits are swept into the vault (a dust deposit is not worth its gas and waits), an approved refund and
 * withdrawal are paid on chain and reach success only from the confirmed PayoutExecuted event, a restart
 * pays nothing twice; and the operator wallet replaces a stuck transaction at the same nonce.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { encodeFunctionData, parseAbi, type Address, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { createPayClient, type PayClient, type PayoutTypedData } from "../../sdk/src/index.js";
import { resolveConfig, type GatewayConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { createOperatorWallet } from "../src/movers/operatorWallet.js";
import { startGateway, type Gateway } from "../src/runtime/gateway.js";
import type { Db } from "../src/store/db.js";
import { createMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { deployFixture, freePort, startHardhatNode, type Fixture, type HardhatNode } from "./chainHarness.js";

const MNEMONIC = "test test test test test test test test test test test junk";
const admin = mnemonicToAccount(MNEMONIC, { addressIndex: 0 });
const adminKey = `0x${Buffer.from(admin.getHdKey().privateKey!).toString("hex")}` as Hex;
const NATIVE = "0x0000000000000000000000000000000000000000" as Address;
const ERC20 = parseAbi(["function transfer(address,uint256) returns (bool)", "function balanceOf(address) view returns (uint256)"]);

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end)
      assert.fail(`timed out waiting for ${what}: ${JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function signable(t: PayoutTypedData) {
  const fields = t.types[t.primaryType]!;
  const message: Record<string, unknown> = {};
  for (const f of fields) message[f.name] = /^u?int/.test(f.type) ? BigInt(t.message[f.name]!) : t.message[f.name];
  return {
    domain: { ...t.domain, chainId: Number(t.domain.chainId), verifyingContract: t.domain.verifyingContract as Address },
    types: { [t.primaryType]: fields },
    primaryType: t.primaryType,
    message,
  } as any;
}

describe("money movers on a hardhat node", { timeout: 180_000 }, () => {
  let node: HardhatNode;
  let fx: Fixture;
  let db: Db;
  let config: GatewayConfig;
  let gateway: Gateway;
  let client: PayClient;
  let mining = true;
  let miner: NodeJS.Timeout | undefined;
  const start = async () => {
    gateway = await startGateway({ config, db, pollIntervalMs: 100, moverIntervalMs: 300, retryScheduleMs: [200] });
  };

  before(async () => {
    node = await startHardhatNode();
    fx = await deployFixture(node);
    assert.equal(admin.address.toLowerCase(), fx.admin.toLowerCase(), "the fixture's admin is mnemonic account 0");
    db = await openStore({ pgliteDir: "memory://" });
    config = resolveConfig({
      masterKey: randomBytes(32),
      host: "127.0.0.1",
      port: await freePort(),
      logLevel: "silent",
      operatorKey: adminKey,
      allowPrivateWebhookTargets: true,
      chains: [
        {
          chainId: 31337,
          code: "local",
          name: "hardhat node",
          vault: fx.vault,
          confirmations: 2,
          rpcUrl: node.url,
          startBlock: Number(await fx.blockNumber()),
          // 1 ETH = 3,000 USDT
          tokens: [
            { symbol: "USDT", address: fx.token, decimals: 6, priceWei: "333333333" },
            { symbol: "ETH", address: NATIVE, decimals: 18 },
          ],
        },
      ],
    });
    const m = await createMerchant(db, createSecretBox(config.masterKey), {
      id: fx.merchantId,
      name: "Shop",
      feeBps: 100,
      payoutSigner: fx.admin,
    });
    await start();
    client = createPayClient({ baseUrl: gateway.url!, apiKey: m.apiKey, apiSecret: m.apiSecret });
    // blocks keep coming, as on a real chain
    miner = setInterval(() => void (mining && node.rpc("evm_mine").catch(() => {})), 200);
  });

  after(async () => {
    clearInterval(miner);
    await gateway?.stop();
    await db?.close();
    node?.stop();
  });

  it("sweeps a confirmed payment into the vault and leaves a dust deposit until it is worth its gas", async () => {
    const order = await client.payment.create({
      outTradeNo: "m-1",
      chainId: 31337,
      quoteCurrencySymbol: "USDT",
      quoteAmount: "10",
      notifyUrl: "http://127.0.0.1:9/none",
    });
    await fx.mint(fx.payer, 100_000_000n);
    await fx.write(fx.token, fx.tokenAbi, "transfer", [order.userWalletAddress, 10_000_000n], fx.payer);
    await until(
      "order success",
      () => client.payment.detail({ outTradeNo: "m-1" }),
      (d) => d.state === 4,
    );
    const [balance, fee] = await until(
      "vault credit",
      () =>
        fx.publicClient.readContract({
          address: fx.vault,
          abi: fx.vaultAbi,
          functionName: "accountOf",
          args: [fx.merchantId, fx.token],
        }) as Promise<[bigint, bigint]>,
      ([b, f]) => b + f === 10_000_000n,
    );
    const m = await fx.publicClient.readContract({ address: fx.vault, abi: fx.vaultAbi, functionName: "merchant", args: [fx.merchantId] });
    assert.equal(
      balance,
      9_900_000n,
      `merchant credited what arrived less the 1% fee (${JSON.stringify(m, (_k, x) => (typeof x === "bigint" ? x.toString() : x))})`,
    );
    assert.equal(fee, 100_000n);
    const [sweep] = await until(
      "sweep confirmed",
      () => db.query("SELECT * FROM sweeps WHERE token = $1", [fx.token.toLowerCase()]),
      (r) => r[0]?.status === "confirmed",
    );
    assert.equal(BigInt(sweep!.credited), 9_900_000n);
    assert.equal(BigInt(sweep!.fee), 100_000n);

    // 1 gwei of ETH is worth far less than the gas to sweep it
    const dust = await client.payment.create({
      outTradeNo: "m-dust",
      chainId: 31337,
      quoteCurrencySymbol: "ETH",
      quoteAmount: "0.000000001",
      notifyUrl: "http://127.0.0.1:9/none",
    });
    await fx.send({ to: dust.userWalletAddress as Address, value: 1_000_000_000n });
    await until(
      "dust order success",
      () => client.payment.detail({ outTradeNo: "m-dust" }),
      (d) => d.state === 4,
    );
    const passes = async () => (await gateway.movers!.runOnce())[0]!.sweeps;
    const outcome = (await passes()).find((s) => s.token === NATIVE);
    assert.equal(outcome?.outcome, "not_worth_it");
    assert.equal(
      await fx.publicClient.getBalance({ address: dust.userWalletAddress as Address }),
      1_000_000_000n,
      "the dust stays in its address",
    );
  });

  it("pays an approved refund and withdrawal on chain, success only from the confirmed event, and never twice across a restart", async () => {
    const payerBefore = (await fx.publicClient.readContract({
      address: fx.token,
      abi: ERC20,
      functionName: "balanceOf",
      args: [fx.payer],
    })) as bigint;
    const { refundId } = await client.refund.create({ outTradeNo: "m-1", outRefundNo: "r-1", refundAmount: "4" });
    const refund = await client.refund.detail({ refundId });
    await client.refund.approve({ refundId, signature: await admin.signTypedData(signable(refund.lines[0]!.payoutTypedData!)) });
    const to = fx.accounts[5]!;
    const usdt = (await client.conf.currencies({ chainId: 31337 })).find((c) => c.symbol === "USDT")!;
    const { withdrawId } = await client.withdraw.apply({
      outTradeNo: "w-1",
      chainId: 31337,
      currencyId: usdt.currencyId,
      withdrawAmount: "1.5",
      withdrawAddress: to,
    });
    const w = await client.withdraw.detail({ withdrawId });
    await client.withdraw.approve({ withdrawId, signature: await admin.signTypedData(signable(w.lines[0]!.payoutTypedData!)) });

    // broadcast (2) first; success (3) needs PayoutExecuted at depth 2
    const seen: number[] = [];
    const done = await until(
      "refund success",
      async () => {
        const d = await client.refund.detail({ refundId });
        if (seen.at(-1) !== d.state) seen.push(d.state);
        return d;
      },
      (d) => d.state === 3,
    );
    assert.ok(done.transferHash, "the success carries the transaction hash");
    assert.ok(!seen.includes(-2), `no failure on the way: ${seen}`);
    await until(
      "withdrawal success",
      () => client.withdraw.detail({ withdrawId }),
      (d) => d.state === 3 && d.withdrawStatus === 0,
    );
    const payerAfter = (await fx.publicClient.readContract({
      address: fx.token,
      abi: ERC20,
      functionName: "balanceOf",
      args: [fx.payer],
    })) as bigint;
    assert.equal(payerAfter - payerBefore, 4_000_000n);
    assert.equal(await fx.publicClient.readContract({ address: fx.token, abi: ERC20, functionName: "balanceOf", args: [to] }), 1_500_000n);

    // a restart: the movers look again and send nothing more
    await gateway.stop();
    await start();
    await gateway.movers!.runOnce();
    await new Promise((r) => setTimeout(r, 1_000));
    // each payout was carried by one mined transaction: alone, or with the other in one relay
    const carried = await db.query(
      `SELECT coalesce(r.ref_kind, o.ref_kind) AS kind FROM operator_txs o LEFT JOIN payout_relay_refs r ON o.ref_kind = 'relay' AND r.relay_id = o.ref_id
        WHERE o.purpose = 'payout' AND o.status = 'mined' ORDER BY 1`,
    );
    assert.deepEqual(
      carried.map((p) => p.kind),
      ["refund", "withdrawal"],
      "each payout sent once",
    );
    assert.equal((await db.query("SELECT 1 FROM operator_txs WHERE purpose = 'payout' AND status <> 'mined'")).length, 0);
    assert.equal(await fx.publicClient.readContract({ address: fx.token, abi: ERC20, functionName: "balanceOf", args: [to] }), 1_500_000n);
  });

  it("replaces a stuck transaction at the same nonce with higher fees", async () => {
    const wallet = createOperatorWallet({ db, chainId: 31337, rpcUrl: node.url, privateKey: mnemonicToAccountKey(2), replaceAfterMs: 0 });
    await node.rpc("hardhat_setBalance", [wallet.address, "0x56BC75E2D63100000"]);
    await gateway.stop(); // its movers would otherwise look at this wallet's rows too
    mining = false;
    await node.rpc("evm_setAutomine", [false]);
    // a harmless call the vault answers without state change
    const data = encodeFunctionData({
      abi: parseAbi(["function isPayoutIdUsed(uint64,uint256) view returns (bool)"]),
      functionName: "isPayoutIdUsed",
      args: [1n, 1n],
    });
    try {
      const first = await wallet.send({ to: fx.vault, data, gas: 100_000n, purpose: "sweep", refId: "stuck-1" });
      // no block comes: the next check re-signs it with higher fees at the same nonce
      assert.ok(first);
      assert.deepEqual(await wallet.checkPending(), []);
      const rows = await db.query("SELECT tx_hash, nonce, max_fee, status FROM operator_txs WHERE ref_id = 'stuck-1' ORDER BY sent_at");
      assert.equal(rows.length, 2, "a replacement was signed");
      assert.equal(rows[0]!.nonce, rows[1]!.nonce, "at the same nonce");
      assert.ok(BigInt(rows[1]!.max_fee) > BigInt(rows[0]!.max_fee), "with a higher fee");
      await node.rpc("evm_mine");
      const settled = await wallet.checkPending();
      assert.equal(settled.length, 1);
      assert.equal(settled[0]!.txHash, rows[1]!.tx_hash);
      assert.equal(settled[0]!.outcome, "mined");
      const after = await db.query("SELECT tx_hash, status FROM operator_txs WHERE ref_id = 'stuck-1' ORDER BY sent_at");
      assert.deepEqual(
        after.map((r) => r.status),
        ["replaced", "mined"],
      );
    } finally {
      await node.rpc("evm_setAutomine", [true]);
      mining = true;
    }
  });
});

function mnemonicToAccountKey(index: number): Hex {
  return `0x${Buffer.from(mnemonicToAccount(MNEMONIC, { addressIndex: index }).getHdKey().privateKey!).toString("hex")}` as Hex;
}
