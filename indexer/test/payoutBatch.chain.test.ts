/**
 * Batch payouts on a real `hardhat node`, through the whole runtime (API, follower, notifier, movers): three
 * applications (a refund, a two-recipient withdrawal, a settlement) approved with ONE PayoutBatch signature
 * are sent in ONE payoutBatch transaction; the item the vault skips (its balance drained meanwhile by another
 * payout) is not failed (its signature still authorises it): it goes back to approved, stays reserved, and is
 * paid when the batch is sent again after its retry time once the balance is there; the others are paid; a
 * forged signature is refused; a batch past its deadline fails every open line instead of waiting forever;
 * two merchants' single payouts and batches go out in ONE relayPayouts transaction, a dropped relay puts
 * every one of them back and they are sent again, each paid once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseAbi, type Address } from "viem";
import { createPayClient, PayApiError, typedDataToSign as sign, type PayClient } from "../../sdk/src/index.js";
import type { GatewayConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { payoutTypedData } from "../src/domain/payoutTypedData.js";
import type { Db } from "../src/store/db.js";
import { listPayoutTransactions } from "../src/store/consoleQueries.js";
import { createMerchant } from "../src/store/merchants.js";
import type { Fixture, HardhatNode } from "./chainHarness.js";
import { hardhatAccount, startGatewayOnNode, until, type GatewayOnNode } from "./gatewayOnNode.js";

const admin = hardhatAccount(0).account; // operator and the merchant's payout signer
const forger = hardhatAccount(2).account;
const signerB = hardhatAccount(6).account; // merchant 2's payout signer
const ERC20 = parseAbi(["function balanceOf(address) view returns (uint256)"]);

describe("batch payouts on a hardhat node", { timeout: 240_000 }, () => {
  let env: GatewayOnNode;
  let node: HardhatNode;
  let fx: Fixture;
  let db: Db;
  let config: GatewayConfig;
  let client: PayClient;
  const balanceOf = (a: Address) =>
    fx.publicClient.readContract({ address: fx.token, abi: ERC20, functionName: "balanceOf", args: [a] }) as Promise<bigint>;

  /** The merchant's balance in the vault, in USDT base units. */
  const vaultBalance = async (merchantId: bigint) =>
    (
      (await fx.publicClient.readContract({
        address: fx.vault,
        abi: fx.vaultAbi,
        functionName: "accountOf",
        args: [merchantId, fx.token],
      })) as [bigint, bigint]
    )[0];
  /** A 10 USDT order of `payClient`'s merchant, paid by the payer, until it succeeds (sweeping is the caller's). */
  const payTenUsdt = async (payClient: PayClient, outTradeNo: string) => {
    const order = await payClient.payment.create({
      outTradeNo,
      chainId: 31337,
      quoteCurrencySymbol: "USDT",
      quoteAmount: "10",
      notifyUrl: "http://127.0.0.1:9/none",
    });
    await fx.write(fx.token, fx.tokenAbi, "transfer", [order.userWalletAddress, 10_000_000n], fx.payer);
    await until(
      `order ${outTradeNo} success`,
      () => payClient.payment.detail({ outTradeNo }),
      (d) => d.state === 4,
    );
  };

  before(async () => {
    // the movers run only when the test says (runOnce), so that it can act between send and mining
    env = await startGatewayOnNode({ moverIntervalMs: 3_600_000 });
    ({ node, fx, db, config, client } = env);
  });

  after(async () => {
    await env?.stop();
  });

  it("pays a refund, a two-line withdrawal and a settlement approved with one signature in one transaction; the skipped item stays reserved and is paid by the next send once the balance is there", async () => {
    // 10 USDT paid and swept: the merchant holds 9.9 in the vault
    await fx.mint(fx.payer, 100_000_000n);
    await payTenUsdt(client, "b-1");
    await until(
      "vault credit",
      async () => {
        await env.gateway.movers!.runOnce();
        return vaultBalance(fx.merchantId);
      },
      (b) => b === 9_900_000n,
    );

    const [s3, w4, w5] = [fx.accounts[3]!, fx.accounts[4]!, fx.accounts[5]!];
    const usdt = (await client.conf.currencies({ chainId: 31337 })).find((c) => c.symbol === "USDT")!;
    const { refundId } = await client.refund.create({ outTradeNo: "b-1", outRefundNo: "br-1", refundAmount: "2" });
    const { withdrawId } = await client.withdraw.apply({
      outTradeNo: "bw-1",
      chainId: 31337,
      currencyId: usdt.currencyId,
      withdrawAmount: "1,1.5",
      withdrawAddress: `${w4},${w5}`,
    });
    const { settlementId } = await client.request<{ settlementId: number }>("POST", "settlement/apply", {
      outTradeNo: "bs-1",
      chainId: 31337,
      currencyId: usdt.currencyId,
      settlementAmount: "0.5",
      settlementAddress: s3,
    });
    const ids = { refundIds: String(refundId), withdrawIds: String(withdrawId), settlementIds: String(settlementId) };
    const shown = await client.payout.batchTypedData({ refundIds: [refundId], withdrawIds: [withdrawId], settlementIds: [settlementId] });
    assert.deepEqual(
      shown.items.map((i) => i.amount),
      ["2000000", "1000000", "1500000", "500000"],
    );
    const typed = sign(shown.payoutTypedData);

    // a forged signature is refused and nothing is approved
    await assert.rejects(
      client.request("POST", "payout/batch/approve", { ...ids, signature: await forger.signTypedData(typed) }),
      (e: PayApiError) => e.code === 40007,
    );
    assert.equal((await client.refund.detail({ refundId })).state, 0);

    const approved = await client.payout.batchApprove({
      refundIds: [refundId],
      withdrawIds: [withdrawId],
      settlementIds: [settlementId],
      signature: await admin.signTypedData(typed),
    });
    assert.equal(approved.payoutCount, 4);
    assert.equal((await client.withdraw.detail({ withdrawId })).state, 1);

    // Another payout of the merchant (relayed by anyone, higher tip) takes 6 USDT in the same block, before
    // the batch: 3.9 is left for 5, so the batch pays in payout id order and skips the 1.5 it cannot.
    env.setMining(false);
    await node.rpc("evm_setAutomine", [false]);
    try {
      const drain = {
        merchantId: fx.merchantId,
        kind: 2 as const,
        token: fx.token,
        to: s3,
        amount: 6_000_000n,
        payoutId: 900n,
        deadline: BigInt(Math.floor(Date.now() / 1000) + 3600),
      };
      const drainSig = await admin.signTypedData(payoutTypedData({ chainId: 31337, vault: fx.vault, payout: drain }));
      await fx.wallet.writeContract({
        address: fx.vault,
        abi: fx.vaultAbi,
        functionName: "payout",
        args: [drain, drainSig],
        account: fx.payer,
        chain: null,
        gas: 300_000n,
        maxPriorityFeePerGas: 50_000_000_000n,
        maxFeePerGas: 200_000_000_000n,
      });
      const pass = (await env.gateway.movers!.runOnce())[0]!.payouts;
      const sent = pass.filter((p) => p.outcome === "sent");
      assert.equal(sent.length, 4, `every line sent: ${JSON.stringify(pass)}`);
      assert.equal(new Set(sent.map((p) => (p as { txHash: string }).txHash)).size, 1, "in one transaction");
      await node.rpc("evm_mine");
    } finally {
      await node.rpc("evm_setAutomine", [true]);
      env.setMining(true);
    }

    const w = await until(
      "withdrawal line 1 paid, line 2 skipped",
      () => client.withdraw.detail({ withdrawId }),
      (d) => d.lines[0]!.state === 3 && d.lines[1]!.state === 1,
    );
    assert.match(w.lines[1]!.skipReason!, /VaultInsufficientBalance/);
    assert.equal(w.lines[1]!.reason, null, "not failed");
    assert.equal(w.state, 1, "the withdrawal is still open");
    const r = await until(
      "refund paid",
      () => client.refund.detail({ refundId }),
      (d) => d.state === 3,
    );
    const s = await until(
      "settlement paid",
      () => client.request<any>("GET", "settlement/detail", { settlementId: String(settlementId) }),
      (d) => d.state === 3,
    );
    assert.equal(r.transferHash, w.lines[0]!.transferHash);
    assert.equal(s.transferHash, r.transferHash, "one transaction paid them all");
    assert.equal(await balanceOf(w4), 1_000_000n);
    assert.equal(await balanceOf(w5), 0n, "the skipped recipient got nothing yet");
    assert.equal(await balanceOf(s3), 6_500_000n);
    const failures = () =>
      db.query(
        "SELECT payload FROM outbox_events WHERE aggregate_kind = 'withdrawal' AND aggregate_id = $1 AND (payload->'data'->>'status')::int = -2",
        [String(withdrawId)],
      );
    assert.equal((await failures()).length, 0, "no failure webhook");
    const [batchRow] = await db.query("SELECT id, retry_after > now() AS later FROM payout_batches WHERE id = $1", [approved.batchId]);
    assert.equal(batchRow!.later, true, "the batch is sent again only after its retry time");

    // another 10 USDT arrives and is swept: 0.4 + 9.9 in the vault. Within the retry time nothing is sent.
    await payTenUsdt(client, "b-2");
    await until(
      "vault credit 2",
      async () => {
        const pass = (await env.gateway.movers!.runOnce())[0]!.payouts;
        assert.ok(!pass.some((p) => p.outcome === "sent"), `nothing sent before the retry time: ${JSON.stringify(pass)}`);
        return vaultBalance(fx.merchantId);
      },
      (b) => b === 10_300_000n,
    );
    // the retry time passes: the batch goes again as signed; only the skipped item can be paid now
    await db.query("UPDATE payout_batches SET retry_after = now() - interval '1 second' WHERE id = $1", [approved.batchId]);
    const again = (await env.gateway.movers!.runOnce())[0]!.payouts;
    assert.deepEqual(
      again.map((p) => [p.kind, p.outcome, p.batchId]),
      [["withdrawal", "sent", approved.batchId]],
      "the one open line, in the same batch",
    );
    const paid = await until(
      "skipped line paid",
      () => client.withdraw.detail({ withdrawId }),
      (d) => d.state === 3,
    );
    assert.deepEqual(
      paid.lines.map((l) => l.state),
      [3, 3],
    );
    assert.equal(await balanceOf(w5), 1_500_000n);
    assert.equal(await balanceOf(s3), 6_500_000n, "nothing paid twice");
    assert.equal(await balanceOf(w4), 1_000_000n);
    assert.equal((await failures()).length, 0);
    await env.gateway.movers!.runOnce(); // the wallet settles its sent transactions; nothing more is sent
    const txs = await db.query("SELECT ref_kind, status FROM operator_txs WHERE purpose = 'payout' ORDER BY nonce");
    assert.deepEqual(
      txs.map((t) => [t.ref_kind, t.status]),
      [
        ["batch", "mined"],
        ["batch", "mined"],
      ],
    );
    // the refund is paid: 8 of 10 remains refundable
    const more = await client.refund.create({ outTradeNo: "b-1", outRefundNo: "br-2" });
    assert.equal((await client.refund.detail({ refundId: more.refundId })).refundAmount, "8000000");
  });

  it("a batch past its deadline fails every open line with a webhook instead of waiting", async () => {
    const usdt = (await client.conf.currencies({ chainId: 31337 })).find((c) => c.symbol === "USDT")!;
    const { withdrawId } = await client.withdraw.apply({
      outTradeNo: "bw-2",
      chainId: 31337,
      currencyId: usdt.currencyId,
      withdrawAmount: "0.1,0.2",
      withdrawAddress: `${fx.accounts[4]},${fx.accounts[5]}`,
    });
    const typed = sign((await client.request<any>("GET", "payout/batch/typedData", { withdrawIds: String(withdrawId) })).payoutTypedData);
    const { batchId } = await client.request<{ batchId: string }>("POST", "payout/batch/approve", {
      withdrawIds: String(withdrawId),
      signature: await admin.signTypedData(typed),
    });
    // the clock passes the signed deadline (as if the movers had been down for days)
    await db.query("UPDATE payout_batches SET deadline = $2 WHERE id = $1", [batchId, Math.floor(Date.now() / 1000) - 1]);
    const pass = (await env.gateway.movers!.runOnce())[0]!.payouts;
    assert.deepEqual(
      pass.map((p) => p.outcome),
      ["failed", "failed"],
    );
    const w = await client.withdraw.detail({ withdrawId });
    assert.deepEqual(
      w.lines.map((l) => l.state),
      [-2, -2],
    );
    assert.match(w.lines[0]!.reason!, /expired/);
    const events = await db.query(
      "SELECT 1 FROM outbox_events WHERE aggregate_kind = 'withdrawal' AND aggregate_id = $1 AND (payload->'data'->>'status')::int = -2",
      [String(withdrawId)],
    );
    assert.equal(events.length, 1);
    assert.equal((await db.query("SELECT 1 FROM operator_txs WHERE ref_id = $1", [batchId])).length, 0, "nothing sent");
  });

  it("an id the merchant's signer cancels in the vault fails its line from PayoutCancelled; the rest of the batch is still paid", async () => {
    const usdt = (await client.conf.currencies({ chainId: 31337 })).find((c) => c.symbol === "USDT")!;
    const [to4, to5] = [fx.accounts[4]!, fx.accounts[5]!];
    const before5 = await balanceOf(to5);
    const before4 = await balanceOf(to4);
    const { withdrawId } = await client.withdraw.apply({
      outTradeNo: "bw-3",
      chainId: 31337,
      currencyId: usdt.currencyId,
      withdrawAmount: "0.1,0.2",
      withdrawAddress: `${to4},${to5}`,
    });
    const shown = await client.payout.batchTypedData({ withdrawIds: [withdrawId] });
    await client.payout.batchApprove({
      withdrawIds: [withdrawId],
      signature: await admin.signTypedData(sign(shown.payoutTypedData)),
    });
    const cancelled = BigInt(shown.items[1]!.payoutId);
    await fx.write(fx.vault, fx.vaultAbi, "cancelPayout", [fx.merchantId, cancelled]);
    const failed = await until(
      "cancelled line failed",
      () => client.withdraw.detail({ withdrawId }),
      (d) => d.lines[1]!.state === -2,
    );
    assert.match(failed.lines[1]!.reason!, /cancelled/);
    assert.equal(failed.lines[0]!.state, 1, "the other line stays approved");
    // the cancelled id is used in the vault: sending the batch as signed cannot pay it, so it is sent
    const pass = (await env.gateway.movers!.runOnce())[0]!.payouts;
    assert.deepEqual(
      pass.map((p) => p.outcome),
      ["sent"],
    );
    const w = await until(
      "paid line",
      () => client.withdraw.detail({ withdrawId }),
      (d) => d.lines[0]!.state === 3,
    );
    assert.deepEqual(
      w.lines.map((l) => l.state),
      [3, -2],
    );
    assert.equal((await balanceOf(to4)) - before4, 100_000n);
    assert.equal(await balanceOf(to5), before5, "the cancelled payout paid nothing");
  });

  it("two merchants' singles and batches go in ONE relayPayouts transaction within the merchants' balances; a dropped relay puts each back and the next carries them, each paid once", async () => {
    // merchant 2, registered in the vault with its own signer, paid 10 USDT and swept
    const merchantB = 2n;
    await fx.write(fx.vault, fx.vaultAbi, "registerMerchant", [merchantB, signerB.address, 100]);
    const mb = await createMerchant(db, createSecretBox(config.masterKey), {
      id: merchantB,
      name: "Shop B",
      feeBps: 100,
      payoutSigner: signerB.address,
    });
    const clientB = createPayClient({ baseUrl: env.gateway.url!, apiKey: mb.apiKey, apiSecret: mb.apiSecret });
    await payTenUsdt(clientB, "rb-1");
    await until(
      "merchant B credited",
      async () => {
        await env.gateway.movers!.runOnce();
        return vaultBalance(merchantB);
      },
      (b) => b === 9_900_000n,
    );

    const usdt = (await client.conf.currencies({ chainId: 31337 })).find((c) => c.symbol === "USDT")!;
    const [s3, w4, w5] = [fx.accounts[3]!, fx.accounts[4]!, fx.accounts[5]!];
    const before = { s3: await balanceOf(s3), w4: await balanceOf(w4), w5: await balanceOf(w5) };
    const heldA = await vaultBalance(fx.merchantId);
    // merchant 1: two singles, and a third that, after them, is 0.1 USDT more than it holds: it waits
    const singleA = async (outTradeNo: string, amount: bigint, to: Address) => {
      const { settlementId } = await client.request<{ settlementId: number }>("POST", "settlement/apply", {
        outTradeNo,
        chainId: 31337,
        currencyId: usdt.currencyId,
        settlementAmount: (Number(amount) / 1e6).toFixed(6),
        settlementAddress: to,
      });
      const d = await client.request<any>("GET", "settlement/detail", { settlementId: String(settlementId) });
      await client.request("POST", "settlement/approve", {
        settlementId: String(settlementId),
        signature: await admin.signTypedData(sign(d.lines[0].payoutTypedData)),
      });
      return settlementId;
    };
    const sA1 = await singleA("rs-1", 300_000n, w4);
    const sA2 = await singleA("rs-2", 200_000n, s3);
    const sA3 = await singleA("rs-3", heldA - 500_000n + 100_000n, s3);
    // merchant 2: a two-recipient withdrawal approved with one batch signature
    const { withdrawId } = await clientB.withdraw.apply({
      outTradeNo: "rw-1",
      chainId: 31337,
      currencyId: usdt.currencyId,
      withdrawAmount: "1,2",
      withdrawAddress: `${w4},${w5}`,
    });
    const shown = await clientB.payout.batchTypedData({ withdrawIds: [withdrawId] });
    const { batchId } = await clientB.payout.batchApprove({
      withdrawIds: [withdrawId],
      signature: await signerB.signTypedData(sign(shown.payoutTypedData)),
    });

    // one pass: the two payable singles and the batch in one relay; the third single waits for its balance
    env.setMining(false);
    await node.rpc("evm_setAutomine", [false]);
    let firstHash: string;
    let secondHash: string;
    try {
      const pass = (await env.gateway.movers!.runOnce())[0]!.payouts;
      const sent = pass.filter((p) => p.outcome === "sent") as { txHash: string; relayId?: string; batchId?: string; kind: string }[];
      assert.equal(sent.length, 4, `two singles and two batch lines sent: ${JSON.stringify(pass)}`);
      assert.equal(new Set(sent.map((p) => p.txHash)).size, 1, "in one transaction");
      assert.ok(
        sent.every((p) => p.relayId && p.relayId === sent[0]!.relayId),
        "as one relay",
      );
      assert.deepEqual(
        sent.filter((p) => p.batchId).map((p) => p.batchId),
        [batchId, batchId],
      );
      const waiting = pass.filter((p) => p.outcome === "waiting");
      assert.deepEqual(
        waiting.map((p) => [p.kind, (p as { reason: string }).reason]),
        [["settlement", "VaultInsufficientBalance"]],
        "the third single would overdraw merchant 1 after the other two: it waits",
      );
      firstHash = sent[0]!.txHash;
      const [relayTx] = await db.query("SELECT nonce, ref_kind FROM operator_txs WHERE tx_hash = $1", [firstHash]);
      assert.equal(relayTx!.ref_kind, "relay");
      assert.equal((await db.query("SELECT 1 FROM payout_relay_refs WHERE relay_id = $1", [sent[0]!.relayId])).length, 3);

      // the relay leaves the mempool and another transaction of the operator takes its nonce
      await node.rpc("hardhat_dropTransaction", [firstHash]);
      await node.rpc("eth_sendTransaction", [
        { from: admin.address, to: admin.address, value: "0x0", nonce: `0x${Number(relayTx!.nonce).toString(16)}` },
      ]);
      await node.rpc("evm_mine");
      assert.equal(
        (await client.request<any>("GET", "settlement/detail", { settlementId: String(sA1) })).state,
        2,
        "still sent until the wallet looks",
      );

      // the next pass sees it dropped: every payout and batch line it carried goes back to approved and the pass sends them again
      const again = (await env.gateway.movers!.runOnce())[0]!.payouts;
      const resent = again.filter((p) => p.outcome === "sent") as { txHash: string; relayId?: string }[];
      assert.equal(resent.length, 4, `sent again: ${JSON.stringify(again)}`);
      secondHash = resent[0]!.txHash;
      assert.notEqual(secondHash, firstHash);
      assert.equal(new Set(resent.map((p) => p.txHash)).size, 1);
      await node.rpc("evm_mine");
    } finally {
      await node.rpc("evm_setAutomine", [true]);
      env.setMining(true);
    }

    for (const id of [sA1, sA2]) {
      const d = await until(
        `settlement ${id} paid`,
        () => client.request<any>("GET", "settlement/detail", { settlementId: String(id) }),
        (x) => x.state === 3,
      );
      assert.equal(d.transferHash, secondHash);
    }
    const w = await until(
      "merchant 2's withdrawal paid",
      () => clientB.withdraw.detail({ withdrawId }),
      (d) => d.state === 3,
    );
    assert.ok(
      w.lines.every((l) => l.transferHash === secondHash),
      "by the same relay",
    );
    assert.equal(
      (await client.request<any>("GET", "settlement/detail", { settlementId: String(sA3) })).state,
      1,
      "the overdrawing one waits, approved",
    );
    assert.equal((await balanceOf(w4)) - before.w4, 1_300_000n, "each paid once");
    assert.equal((await balanceOf(w5)) - before.w5, 2_000_000n);
    assert.equal((await balanceOf(s3)) - before.s3, 200_000n);
    assert.equal(await vaultBalance(merchantB), 6_900_000n);

    // the console lists both transactions that carried a payout: the dropped relay and the mined one
    const [row] = await db.query("SELECT id FROM settlement_orders WHERE merchant_id = $1 AND merchant_settlement_id = $2", [
      fx.merchantId,
      "rs-1",
    ]);
    await env.gateway.movers!.runOnce(); // the wallet settles the mined relay
    assert.deepEqual(
      (await listPayoutTransactions(db, { kind: "settlement", id: row!.id, batchId: null })).map((t) => [t.txHash, t.status]),
      [
        [firstHash, "dropped"],
        [secondHash, "mined"],
      ],
    );
  });
});
