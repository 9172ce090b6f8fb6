/**
 * Batch approval over HTTP (issues 11 and 15): several pending payouts of one merchant approved with ONE
 * EIP-712 PayoutBatch signature, verified as the vault verifies it; refused with nothing changed otherwise;
 * the gateway signs the batch itself in gateway-key mode; and the store's batch functions for the executor
 * and the follower (broadcast, drop, fail from a PayoutSkipped).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { encodeErrorResult, getAddress, hashTypedData, recoverTypedDataAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { PAYOUT_BATCH_TYPES, payoutBatchDigest } from "../src/domain/payoutTypedData.js";
import { createMoverHooks } from "../src/movers/hooks.js";
import { VAULT_CALLS_ABI } from "../src/movers/vaultCalls.js";
import type { Db } from "../src/store/db.js";
import { createMerchant, type CreatedMerchant } from "../src/store/merchants.js";
import {
  failPayoutFromChain,
  getBatchLines,
  listExecutableBatches,
  listExecutablePayouts,
  markBatchBroadcast,
  markBatchDropped,
  markBatchFailed,
  hasPendingPayoutTx,
  markPayoutBroadcast,
  markPayoutWorkDropped,
  recordPayoutRelay,
} from "../src/store/payoutOrders.js";
import { applyPaymentEvent } from "../src/store/paymentOrders.js";
import {
  PG_URL,
  SIGNER_ADDRESS,
  SIGNER_KEY,
  VAULT,
  call,
  postgresReachable,
  startGateway,
  type Backend,
  type TestGateway,
} from "./helpers.js";

const OWN = getAddress("0x90f79bf6eb2c4f870365e785982e1f101e93b906");
const OTHER = getAddress("0x15d34aaf54267db7d7c367839aaf71a00a2c6a65");
const FORGER = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"); // hardhat account 2
const signer = privateKeyToAccount(SIGNER_KEY as Hex);
const USDT_ID = 2;
const ETH_ID = 1;
const POL_ID = 3; // chain 137

/** The typed data payout/batch/typedData hands out, with its integers turned back into bigints. */
const typedFromJson = (t: any) => ({
  domain: { ...t.domain, chainId: Number(t.domain.chainId) },
  types: PAYOUT_BATCH_TYPES,
  primaryType: "PayoutBatch" as const,
  message: {
    merchantId: BigInt(t.message.merchantId),
    deadline: BigInt(t.message.deadline),
    payouts: t.message.payouts.map((p: any) => ({ ...p, kind: Number(p.kind), amount: BigInt(p.amount), payoutId: BigInt(p.payoutId) })),
  },
});

async function snapshot(db: Db) {
  const out: Record<string, unknown> = {};
  for (const t of ["settlement_orders", "withdrawal_orders", "refund_orders"]) {
    out[t] = (await db.query(`SELECT id, status, payout_signature, approved_by, batch_id FROM ${t} ORDER BY id`)).map((r) =>
      JSON.stringify(r),
    );
  }
  out.outbox = (await db.query("SELECT count(*)::text AS n FROM outbox_events"))[0]!.n;
  out.batches = (await db.query("SELECT count(*)::text AS n FROM payout_batches"))[0]!.n;
  return out;
}

function batchSuite(backend: Backend) {
  describe(`batch payout approval over HTTP (${backend})`, () => {
    let gw: TestGateway;
    let A: CreatedMerchant; // merchant-held payout key (SIGNER_ADDRESS)
    let C: CreatedMerchant; // gateway-held payout key
    let n = 0;
    const hooks = createMoverHooks({ retryAfterSeconds: 300 });
    /** A vault event at the confirmation depth, as the follower hands it to the movers' hooks. */
    const vaultEvent = (name: string, args: Record<string, string>, txHash: string) =>
      ({
        chainId: 31337,
        blockNumber: 1n,
        blockHash: "0x" + "44".repeat(32),
        txHash,
        logIndex: 0,
        id: 1n,
        status: "confirmed",
        name,
        args,
      }) as any;
    const confirm = (vaultEvents: any[]) =>
      gw.db.transaction((tx) => hooks.onConfirmed!(tx, { chainId: 31337, deposits: [], vaultEvents }));
    const settle = (m: CreatedMerchant, amount: string, to = OWN, currencyId = USDT_ID, chainId = 31337) =>
      call(gw, m, "POST", "settlement/apply", {
        outTradeNo: `s-${++n}`,
        chainId,
        currencyId,
        settlementAmount: amount,
        settlementAddress: to,
      });
    const withdraw = (m: CreatedMerchant, amounts: string, to: string) =>
      call(gw, m, "POST", "withdraw/apply", {
        outTradeNo: `w-${++n}`,
        chainId: 31337,
        currencyId: USDT_ID,
        withdrawAmount: amounts,
        withdrawAddress: to,
      });
    const refund = async (m: CreatedMerchant, merchantId: bigint) => {
      const out = `pay-${++n}`;
      await call(gw, m, "POST", "payment/createPaymentOrder", {
        chainId: 31337,
        outTradeNo: out,
        quoteCurrencySymbol: "USDT",
        quoteAmount: "10",
        notifyUrl: "https://a.example.test/n",
      });
      for (const event of [
        { type: "transferSeen", amount: 10_000_000n },
        { type: "transferConfirmed", amount: 10_000_000n },
      ] as const) {
        await applyPaymentEvent(gw.db, { merchantId, ref: { merchantOrderId: out }, event, poolCooldownSeconds: 60 });
      }
      return call(gw, m, "POST", "refund/createRefundOrder", { outTradeNo: out, refundAmount: "3", refundAddress: OTHER });
    };

    before(async () => {
      gw = await startGateway(backend);
      A = gw.merchants[0]!;
      C = await createMerchant(gw.db, createSecretBox(gw.config.masterKey), { name: "Shop C", id: 3n, payoutKeyMode: "gateway" });
    });
    after(async () => {
      await gw?.close();
    });

    it("approves a refund, a two-line withdrawal and a settlement with one signature the vault would accept; a forged or mismatched one changes nothing", async () => {
      const r = (await refund(A, 1n)).body.data;
      const w = (await withdraw(A, "1,2", `${OWN},${OTHER}`)).body.data;
      const s = (await settle(A, "0.5")).body.data;
      const ids = { refundIds: String(r.refundId), withdrawIds: String(w.withdrawId), settlementIds: String(s.settlementId) };
      const shown = await call(gw, A, "GET", "payout/batch/typedData", ids);
      assert.equal(shown.status, 200, JSON.stringify(shown.body));
      const t = shown.body.data;
      assert.equal(t.items.length, 4, "every line of every application");
      assert.deepEqual(
        t.items.map((i: any) => [i.kind, i.toAddress, i.amount, i.symbol]),
        [
          ["refund", OTHER, "3000000", "USDT"],
          ["withdrawal", OWN, "1000000", "USDT"],
          ["withdrawal", OTHER, "2000000", "USDT"],
          ["settlement", OWN, "500000", "USDT"],
        ],
        "each recipient and amount, in payout id order",
      );
      const typed = typedFromJson(t.payoutTypedData);
      assert.equal(typed.domain.verifyingContract, VAULT);
      assert.equal(typed.domain.name, "PaymentVault");
      assert.equal(t.payoutTypedData.types.EIP712Domain.length, 4, "ready for eth_signTypedData_v4");
      assert.deepEqual(
        typed.message.payouts.map((p: any) => p.kind),
        [0, 1, 1, 2],
        "vault PayoutKinds",
      );
      const ids4 = typed.message.payouts.map((p: any) => p.payoutId);
      assert.deepEqual(
        ids4,
        [...ids4].sort((a: bigint, b: bigint) => (a < b ? -1 : 1)),
      );
      assert.equal(hashTypedData(typed), payoutBatchDigest({ chainId: 31337, vault: VAULT, batch: typed.message }));

      const before = await snapshot(gw.db);
      const forged = await call(gw, A, "POST", "payout/batch/approve", { ...ids, signature: await FORGER.signTypedData(typed) });
      assert.equal(forged.status, 400);
      assert.equal(forged.body.code, 40007);
      assert.match(forged.body.msg, new RegExp(`recovers to ${FORGER.address}, not the payout signer ${SIGNER_ADDRESS}`));
      // the right key over another batch (one application left out) is refused too
      const fewer = await call(gw, A, "POST", "payout/batch/approve", {
        refundIds: ids.refundIds,
        withdrawIds: ids.withdrawIds,
        signature: await signer.signTypedData(typed),
      });
      assert.equal(fewer.body.code, 40007);
      const none = await call(gw, A, "POST", "payout/batch/approve", ids);
      assert.equal(none.body.code, 40001);
      assert.match(none.body.msg, /signature.*payout\/batch\/typedData/);
      assert.deepEqual(await snapshot(gw.db), before, "a refused batch changes no row and sends no webhook");

      const signature = await signer.signTypedData(typed);
      const ok = await call(gw, A, "POST", "payout/batch/approve", {
        refundIds: [r.refundId],
        withdrawIds: [w.withdrawId],
        settlementIds: [s.settlementId],
        signature,
      });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.data.payoutCount, 4);
      assert.deepEqual([ok.body.data.refunds[0].state, ok.body.data.withdrawals[0].state, ok.body.data.settlements[0].state], [1, 1, 1]);
      const [batch] = await gw.db.query("SELECT * FROM payout_batches WHERE id = $1", [ok.body.data.batchId]);
      assert.equal(batch!.signature, signature.toLowerCase());
      assert.equal(batch!.approved_by, "merchant");
      assert.equal(Number(batch!.deadline), Number(typed.message.deadline));
      const lines = await gw.db.query(
        `SELECT batch_id, payout_signature, approved_by FROM refund_orders WHERE refund_no = $1
       UNION ALL SELECT batch_id, payout_signature, approved_by FROM withdrawal_orders WHERE withdraw_id = $2
       UNION ALL SELECT batch_id, payout_signature, approved_by FROM settlement_orders WHERE settlement_no = $3`,
        [r.refundId, w.withdrawId, s.settlementId],
      );
      assert.equal(lines.length, 4);
      for (const l of lines) assert.deepEqual([l.batch_id, l.payout_signature, l.approved_by], [batch!.id, null, "merchant"]);
      const events = await gw.db.query(
        "SELECT aggregate_kind FROM outbox_events WHERE type LIKE '%status_changed' AND payload->'data'->>'state' = '1' ORDER BY aggregate_kind",
      );
      assert.ok(events.length >= 3, "each application's approval has its webhook");

      // the executor's view: one batch of four, none of its lines sent alone
      const [b] = await listExecutableBatches(gw.db, { chainId: 31337, limit: 10 });
      assert.equal(b!.id, batch!.id);
      assert.equal(b!.lines.length, 4);
      assert.equal(
        await recoverTypedDataAddress({ ...typed, message: b!.batch, signature: b!.signature }),
        SIGNER_ADDRESS,
        "the stored batch is the signed one",
      );
      assert.ok(!(await listExecutablePayouts(gw.db, { chainId: 31337, limit: 100 })).some((p) => b!.lines.some((l) => l.id === p.id)));

      // approving again: not pending any more
      const again = await call(gw, A, "POST", "payout/batch/approve", { ...ids, signature });
      assert.equal(again.body.code, 40902);
      assert.match(again.body.msg, /not pending approval/);

      // broadcast, drop, broadcast, then the vault skips one item: that line fails with a webhook, the others stay sent
      assert.equal((await markBatchBroadcast(gw.db, b!.id, "0x" + "11".repeat(32))).length, 4);
      assert.equal((await listExecutableBatches(gw.db, { chainId: 31337, limit: 10 })).length, 0);
      assert.equal((await markBatchDropped(gw.db, b!.id)).length, 4);
      assert.equal((await markBatchBroadcast(gw.db, b!.id, "0x" + "22".repeat(32))).length, 4);
      const skipped = b!.lines.find((l) => l.kind === "settlement")!;
      const outboxBefore = Number((await gw.db.query("SELECT count(*) AS n FROM outbox_events"))[0]!.n);
      const failed = await gw.db.transaction((tx) =>
        failPayoutFromChain(tx, {
          merchantId: 1n,
          payoutId: skipped.payoutId,
          reason: "the vault skipped this payout: VaultInsufficientBalance(…)",
        }),
      );
      assert.equal(failed?.status, -2);
      assert.match(failed!.reason!, /VaultInsufficientBalance/);
      assert.match(
        failed!.reason!,
        new RegExp(`authorises payout id ${skipped.payoutId} until .*cancelPayout`),
        "says the signature still lives",
      );
      const [ev] = await gw.db.query(
        "SELECT type, payload FROM outbox_events WHERE aggregate_kind = 'settlement' AND aggregate_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
        [String(s.settlementId)],
      );
      assert.equal(ev!.type, "settlement.status_changed");
      assert.equal(Number((await gw.db.query("SELECT count(*) AS n FROM outbox_events"))[0]!.n), outboxBefore + 1);
      assert.equal(
        await gw.db.transaction((tx) => failPayoutFromChain(tx, { merchantId: 1n, payoutId: skipped.payoutId, reason: "again" })),
        null,
        "a closed line is left alone",
      );
      // the deadline passes for the rest: every open line fails, a refund's amount is refundable again
      assert.equal((await markBatchFailed(gw.db, b!.id, "the signed payout batch expired")).length, 3);
      const rd = (await call(gw, A, "GET", "refund/detail", { refundId: String(r.refundId) })).body.data;
      assert.equal(rd.state, -2);
    });

    it("the follower keeps a line the vault skipped for a short balance approved and reserved (a later relay pays it) until the deadline fails it; a never-payable skip fails at once", async () => {
      const txHash = "0x" + "33".repeat(32);
      const ev = (name: string, payoutId: bigint, args: Record<string, string> = {}) =>
        vaultEvent(name, { merchantId: "1", payoutId: payoutId.toString(), ...args }, txHash);
      const short = encodeErrorResult({ abi: VAULT_CALLS_ABI, errorName: "VaultInsufficientBalance", args: [1n, OWN, 0n, 3_000_000n] });
      const events = (kind: string, no: number) =>
        gw.db.query<{ status: string }>(
          "SELECT payload->'data'->>'status' AS status FROM outbox_events WHERE aggregate_kind = $1 AND aggregate_id = $2 ORDER BY created_at, id",
          [kind, String(no)],
        );
      const refunded = async (refundId: number) =>
        BigInt(
          (
            await gw.db.query(
              "SELECT p.refunded_amount FROM payment_orders p JOIN refund_orders r ON r.pay_order_id = p.id WHERE r.refund_no = $1",
              [refundId],
            )
          )[0]!.refunded_amount,
        );

      const r = (await refund(A, 1n)).body.data;
      const w = (await withdraw(A, "1,2", `${OWN},${OTHER}`)).body.data;
      const ids = { refundIds: String(r.refundId), withdrawIds: String(w.withdrawId) };
      const typed = typedFromJson((await call(gw, A, "GET", "payout/batch/typedData", ids)).body.data.payoutTypedData);
      const { batchId } = (await call(gw, A, "POST", "payout/batch/approve", { ...ids, signature: await signer.signTypedData(typed) })).body
        .data;
      await markBatchBroadcast(gw.db, batchId, txHash);
      const [rl, w1, w2] = await getBatchLines(gw.db, batchId);
      assert.deepEqual([rl!.kind, w1!.kind, w2!.kind], ["refund", "withdrawal", "withdrawal"]);
      assert.equal(await refunded(r.refundId), 3_000_000n);

      // a stranger relays a payout with the refund's id and a bad signature: the vault reports it skipped, in
      // a transaction that is not the gateway's: nothing changes
      await confirm([{ ...ev("PayoutSkipped", rl!.payoutId, { reason: short }), txHash: "0x" + "55".repeat(32) }]);
      const untouched = (await call(gw, A, "GET", "refund/detail", { refundId: String(r.refundId) })).body.data;
      assert.deepEqual([untouched.state, untouched.lines[0].skipReason], [2, null], "still sent, no skip recorded");

      // the batch pays w1 and skips the refund and w2 for a short balance: neither fails, both stay reserved
      await confirm([
        ev("PayoutSkipped", rl!.payoutId, { reason: short }),
        ev("PayoutExecuted", w1!.payoutId),
        ev("PayoutSkipped", w2!.payoutId, { reason: short }),
      ]);
      const rd = (await call(gw, A, "GET", "refund/detail", { refundId: String(r.refundId) })).body.data;
      assert.equal(rd.state, 1, "back to approved, not failed");
      assert.match(rd.lines[0].skipReason, /VaultInsufficientBalance/);
      assert.equal(rd.lines[0].reason, null, "not a failure");
      assert.equal(await refunded(r.refundId), 3_000_000n, "the refund's amount stays reserved");
      const wd = (await call(gw, A, "GET", "withdraw/detail", { withdrawId: String(w.withdrawId) })).body.data;
      assert.deepEqual(
        wd.lines.map((l: any) => [l.state, l.skipReason === null]),
        [
          [3, true],
          [1, false],
        ],
      );
      assert.ok(!(await events("refund", r.refundId)).some((e) => e.status === "-2"), "no failure webhook");
      assert.ok(!(await events("withdrawal", w.withdrawId)).some((e) => e.status === "-2"));
      // the executor leaves the batch alone until its retry time
      assert.ok(
        !(await listExecutableBatches(gw.db, { chainId: 31337, limit: 100 })).some((b) => b.id === batchId),
        "not before retry_after",
      );
      await gw.db.query("UPDATE payout_batches SET retry_after = now() - interval '1 second' WHERE id = $1", [batchId]);
      assert.ok(
        (await listExecutableBatches(gw.db, { chainId: 31337, limit: 100 })).some((b) => b.id === batchId),
        "listed again after it",
      );

      // someone relays the batch again once the balance is there: w2 is paid and settles as success
      await confirm([ev("PayoutExecuted", w2!.payoutId)]);
      assert.equal((await call(gw, A, "GET", "withdraw/detail", { withdrawId: String(w.withdrawId) })).body.data.state, 3);

      // the refund is never paid: a batch past its deadline is listed even within its retry time (to be failed)
      await gw.db.query("UPDATE payout_batches SET retry_after = now() + interval '1 hour', deadline = $2 WHERE id = $1", [
        batchId,
        Math.floor(Date.now() / 1000) - 1,
      ]);
      assert.ok(
        (await listExecutableBatches(gw.db, { chainId: 31337, limit: 100 })).some((b) => b.id === batchId),
        "past its deadline",
      );
      // its deadline fails it with the skip reason, a webhook and the amount released
      const failed = await markBatchFailed(gw.db, batchId, "the signed payout batch expired");
      assert.deepEqual(
        failed.map((l) => l.id),
        [rl!.id],
      );
      assert.match(failed[0]!.reason!, /expired; last skipped by the vault: .*VaultInsufficientBalance/);
      assert.equal((await events("refund", r.refundId)).at(-1)!.status, "-2");
      assert.equal(await refunded(r.refundId), 0n, "refundable again only once the signature is dead");

      // an item the vault can never pay as signed fails at once, with its webhook
      const s = (await settle(A, "0.5")).body.data;
      const sTyped = typedFromJson(
        (await call(gw, A, "GET", "payout/batch/typedData", { settlementIds: String(s.settlementId) })).body.data.payoutTypedData,
      );
      const sb = (
        await call(gw, A, "POST", "payout/batch/approve", {
          settlementIds: String(s.settlementId),
          signature: await signer.signTypedData(sTyped),
        })
      ).body.data;
      await markBatchBroadcast(gw.db, sb.batchId, txHash);
      const [sl] = await getBatchLines(gw.db, sb.batchId);
      await confirm([
        ev("PayoutSkipped", sl!.payoutId, { reason: encodeErrorResult({ abi: VAULT_CALLS_ABI, errorName: "VaultZeroAmount" }) }),
      ]);
      const sd = (await call(gw, A, "GET", "settlement/detail", { settlementId: String(s.settlementId) })).body.data;
      assert.equal(sd.state, -2);
      assert.match(sd.reason, /VaultZeroAmount/);
      assert.equal((await events("settlement", s.settlementId)).at(-1)!.status, "-2");
    });

    it("a relay: what it carries counts as sent while it is pending; a skip in its fee-bumped replacement is the gateway's, one in a stranger's transaction is not; a drop puts each back", async () => {
      const [sentHash, bumpedHash, strangerHash] = ["66", "77", "88"].map((b) => "0x" + b.repeat(32));
      const skipped = (txHash: string, merchantId: bigint, payoutId: bigint) =>
        confirm([
          vaultEvent(
            "PayoutSkipped",
            {
              merchantId: merchantId.toString(),
              payoutId: payoutId.toString(),
              reason: encodeErrorResult({ abi: VAULT_CALLS_ABI, errorName: "VaultInsufficientBalance", args: [merchantId, OWN, 0n, 1n] }),
            },
            txHash,
          ),
        ]);
      // C's single settlement (the gateway signs it) and A's two-line withdrawal batch, in one relay
      const s = (await settle(C, "0.5")).body.data;
      assert.equal((await call(gw, C, "POST", "settlement/approve", { settlementId: String(s.settlementId) })).body.data.state, 1);
      const w = (await withdraw(A, "1,2", `${OWN},${OTHER}`)).body.data;
      const typed = typedFromJson(
        (await call(gw, A, "GET", "payout/batch/typedData", { withdrawIds: String(w.withdrawId) })).body.data.payoutTypedData,
      );
      const { batchId } = (
        await call(gw, A, "POST", "payout/batch/approve", {
          withdrawIds: String(w.withdrawId),
          signature: await signer.signTypedData(typed),
        })
      ).body.data;
      const single = (await listExecutablePayouts(gw.db, { chainId: 31337, limit: 100 })).find((p) => p.merchantId === 3n)!;
      const relayId = "relay-test-1";
      await recordPayoutRelay(gw.db, relayId, [
        { kind: "settlement", id: single.id },
        { kind: "batch", id: batchId },
      ]);
      for (const h of [sentHash, bumpedHash]) {
        await gw.db.query(
          `INSERT INTO operator_txs (tx_hash, chain_id, sender, nonce, purpose, ref_id, ref_kind, raw_tx, max_fee, priority_fee)
           VALUES ($1, 31337, $2, 7, 'payout', $3, 'relay', '0x', 1, 1)`,
          [h, OWN.toLowerCase(), relayId],
        );
      }
      await markPayoutBroadcast(gw.db, "settlement", single.id, sentHash!);
      await markBatchBroadcast(gw.db, batchId, sentHash!);
      assert.equal(await hasPendingPayoutTx(gw.db, single.id), true);
      assert.equal(await hasPendingPayoutTx(gw.db, batchId), true);
      assert.equal(await hasPendingPayoutTx(gw.db, "not-carried"), false);

      // the fee-bumped replacement was mined and the vault skipped the settlement there: kept open, reserved
      await skipped(bumpedHash!, 3n, single.payoutId);
      const sd = (await call(gw, C, "GET", "settlement/detail", { settlementId: String(s.settlementId) })).body.data;
      assert.deepEqual([sd.state, /VaultInsufficientBalance/.test(sd.lines[0].skipReason)], [1, true]);
      // a stranger's transaction that skips a line of the batch changes nothing
      const [line1] = await getBatchLines(gw.db, batchId);
      await skipped(strangerHash!, 1n, line1!.payoutId);
      assert.deepEqual(
        (await getBatchLines(gw.db, batchId)).map((l) => [l.status, l.skipReason]),
        [
          [2, null],
          [2, null],
        ],
      );
      // the relay is dropped: what it carried and is still sent goes back to approved; the settlement already is
      const back = await markPayoutWorkDropped(gw.db, "relay", relayId);
      assert.deepEqual(
        back.map((l) => [l.kind, l.status]),
        [
          ["withdrawal", 1],
          ["withdrawal", 1],
        ],
      );
      assert.equal((await call(gw, C, "GET", "settlement/detail", { settlementId: String(s.settlementId) })).body.data.state, 1);
    });

    it("refuses batches that cannot be one vault batch, with a message that says what to fix", async () => {
      const a = (await settle(A, "1")).body.data.settlementId;
      const pol = await settle(A, "1", OWN, POL_ID, 137);
      assert.equal(pol.status, 200, JSON.stringify(pol.body));
      const before = await snapshot(gw.db);
      const chains = await call(gw, A, "GET", "payout/batch/typedData", { settlementIds: `${a},${pol.body.data.settlementId}` });
      assert.equal(chains.body.code, 40001);
      assert.match(chains.body.msg, /one chain/);
      const twice = await call(gw, A, "GET", "payout/batch/typedData", { settlementIds: `${a},${a}` });
      assert.match(twice.body.msg, /named twice/);
      const empty = await call(gw, A, "POST", "payout/batch/approve", { signature: `0x${"ab".repeat(65)}` });
      assert.equal(empty.body.code, 40001);
      assert.match(empty.body.msg, /refundIds, withdrawIds and\/or settlementIds/);
      const other = await call(gw, C, "GET", "payout/batch/typedData", { settlementIds: String(a) });
      assert.equal(other.status, 404, "another merchant's application is not found");
      const bad = await call(gw, A, "GET", "payout/batch/typedData", { settlementIds: "1,x" });
      assert.equal(bad.body.code, 40001);
      assert.deepEqual(await snapshot(gw.db), before);
    });

    it("gateway mode: the gateway signs the batch with the key it holds; a signature is not expected", async () => {
      const s1 = (await settle(C, "1")).body.data.settlementId;
      const w = (
        await call(gw, C, "POST", "withdraw/apply", {
          outTradeNo: "cw-b",
          chainId: 31337,
          currencyId: ETH_ID,
          withdrawAmount: "0.1,0.2",
          withdrawAddress: `${OWN},${OTHER}`,
        })
      ).body.data.withdrawId;
      const ids = { settlementIds: String(s1), withdrawIds: String(w) };
      const typed = typedFromJson((await call(gw, C, "GET", "payout/batch/typedData", ids)).body.data.payoutTypedData);
      assert.equal(typed.message.payouts.length, 3);
      const withSig = await call(gw, C, "POST", "payout/batch/approve", { ...ids, signature: `0x${"ab".repeat(65)}` });
      assert.equal(withSig.body.code, 40009);
      const ok = await call(gw, C, "POST", "payout/batch/approve", ids);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const [b] = await gw.db.query("SELECT signature, approved_by FROM payout_batches WHERE id = $1", [ok.body.data.batchId]);
      assert.equal(b!.approved_by, "gateway");
      const settings = (await call(gw, C, "GET", "merchant/settings")).body.data;
      assert.equal(await recoverTypedDataAddress({ ...typed, signature: b!.signature }), settings.payoutSigner);
      assert.equal(ok.body.data.withdrawals[0].approvedBy, "gateway");
    });

    it("the OpenAPI document lists the batch routes", async () => {
      const doc = (await (await fetch(`${gw.url}/api/openapi.json`)).json()) as any;
      assert.ok(doc.paths["/api/mer/payout/batch/typedData"]?.get);
      const approve = doc.paths["/api/mer/payout/batch/approve"]?.post;
      assert.ok(approve?.requestBody.content["application/json"].schema.properties.signature);
    });
  });
}

batchSuite("pglite");
if (await postgresReachable()) batchSuite("postgres");
else console.log(`# NOTICE: PostgreSQL not reachable at ${PG_URL}: the server run was skipped (PGlite ran)`);
