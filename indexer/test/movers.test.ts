/**
 * Money movers on a real `hardhat node`, through the whole runtime (API, follower, notifier, movers):
 * deposits are swept into the vault (a dust deposit is not worth its gas and waits), an approved refund and
 * withdrawal are paid on chain and reach success only from the confirmed PayoutExecuted event, a restart
 * pays nothing twice; and the operator wallet replaces a stuck transaction at the same nonce.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { encodeFunctionData, parseAbi, type Address } from "viem";
import { typedDataToSign as sign, type PayClient } from "../../sdk/src/index.js";
import { createOperatorWallet } from "../src/movers/operatorWallet.js";
import type { Db } from "../src/store/db.js";
import type { Fixture, HardhatNode } from "./chainHarness.js";
import { hardhatAccount, NATIVE, startGatewayOnNode, until, type GatewayOnNode } from "./gatewayOnNode.js";

const admin = hardhatAccount(0).account; // the operator and the merchant's payout signer
const ERC20 = parseAbi(["function transfer(address,uint256) returns (bool)", "function balanceOf(address) view returns (uint256)"]);

describe("money movers on a hardhat node", { timeout: 180_000 }, () => {
  let env: GatewayOnNode;
  let node: HardhatNode;
  let fx: Fixture;
  let db: Db;
  let client: PayClient;

  before(async () => {
    env = await startGatewayOnNode({ moverIntervalMs: 300 });
    ({ node, fx, db, client } = env);
  });

  after(async () => {
    await env?.stop();
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
    const passes = async () => (await env.gateway.movers!.runOnce())[0]!.sweeps;
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
    await client.refund.approve({ refundId, signature: await admin.signTypedData(sign(refund.lines[0]!.payoutTypedData!)) });
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
    await client.withdraw.approve({ withdrawId, signature: await admin.signTypedData(sign(w.lines[0]!.payoutTypedData!)) });

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

    // /metrics counts the payout transactions, alone or as a relay: as many as the operator sent
    const metrics = await (await fetch(`${env.gateway.url}/metrics`)).text();
    const counted = metrics
      .split("\n")
      .filter((l) => l.startsWith('gateway_payout_transactions_total{chain_id="31337"'))
      .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
    const sentTxs = await db.query("SELECT DISTINCT nonce FROM operator_txs WHERE purpose = 'payout'");
    assert.equal(
      counted,
      sentTxs.length,
      metrics
        .split("\n")
        .filter((l) => l.includes("payout_transactions"))
        .join("\n"),
    );
    assert.ok(counted >= 1);

    // a restart: the movers look again and send nothing more
    await env.restart();
    await env.gateway.movers!.runOnce();
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
    const wallet = createOperatorWallet({ db, chainId: 31337, rpcUrl: node.url, privateKey: hardhatAccount(2).key, replaceAfterMs: 0 });
    await node.rpc("hardhat_setBalance", [wallet.address, "0x56BC75E2D63100000"]);
    await env.gateway.stop(); // its movers would otherwise look at this wallet's rows too
    env.setMining(false);
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
      env.setMining(true);
    }
  });
});
