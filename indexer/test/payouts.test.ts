import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { getAddress, recoverTypedDataAddress, verifyTypedData, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { buildApp } from "../src/api/app.js";
import { loadConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { PAYOUT_TYPES } from "../src/domain/payoutTypedData.js";
import type { Db } from "../src/store/db.js";
import { createMerchant, type CreatedMerchant } from "../src/store/merchants.js";
import { openGatewayStore } from "../src/runtime/store.js";
import { applyPaymentEvent } from "../src/store/paymentOrders.js";
import {
  listExecutablePayouts,
  markPayoutBroadcast,
  markPayoutDropped,
  markPayoutFailed,
  settlePayoutFromChain,
} from "../src/store/payoutOrders.js";
import {
  PG_URL,
  SIGNER_ADDRESS,
  SIGNER_KEY,
  USDT,
  VAULT,
  call,
  postgresReachable,
  startGateway,
  type Backend,
  type TestGateway,
} from "./helpers.js";

const OWN = getAddress("0x90f79bf6eb2c4f870365e785982e1f101e93b906"); // a merchant's own address (Hardhat account 3)
const OTHER = getAddress("0x15d34aaf54267db7d7c367839aaf71a00a2c6a65"); // Hardhat account 4

/** The typed data a detail route hands out, with its integers turned back into bigints for signing/verifying. */
const typedFromJson = (t: any) => ({
  ...t,
  domain: { ...t.domain, chainId: Number(t.domain.chainId) },
  types: PAYOUT_TYPES,
  message: {
    ...t.message,
    merchantId: BigInt(t.message.merchantId),
    amount: BigInt(t.message.amount),
    payoutId: BigInt(t.message.payoutId),
    deadline: BigInt(t.message.deadline),
  },
});

/** Row counts and the merchant rows: what a refused request must leave as it was. */
async function snapshot(db: Db) {
  const out: Record<string, unknown> = {};
  for (const t of ["settlement_orders", "withdrawal_orders", "refund_orders", "outbox_events"]) {
    out[t] = (await db.query(`SELECT count(*)::text AS n FROM ${t}`))[0]!.n;
  }
  out.merchants = (
    await db.query(
      "SELECT id, name, recharge_notify_url, encode(webhook_secret_enc, 'hex') AS w, next_payout_id FROM merchants ORDER BY id",
    )
  ).map((r) => JSON.stringify(r));
  out.states = (await db.query("SELECT id, status, payout_signature FROM settlement_orders ORDER BY id")).map((r) => JSON.stringify(r));
  out.withdrawals = (await db.query("SELECT count(*)::text AS n FROM withdrawals"))[0]!.n;
  return out;
}

const USDT_ID = 2; // currencyIds of testConfig(): 1 ETH and 2 USDT on 31337, 3 POL on 137
const ETH_ID = 1;

function payoutSuite(backend: Backend) {
  describe(`payouts, settlements and merchant settings over HTTP (${backend})`, () => {
    let gw: TestGateway;
    let A: CreatedMerchant; // merchant-held payout key (SIGNER_ADDRESS)
    let B: CreatedMerchant; // no payout signer
    let C: CreatedMerchant; // gateway-held payout key
    let second = 0;
    /** a fresh timestamp per write: two identical signed writes in one second are one request (the replay rule) */
    const fresh = () => ({ timestamp: String(Math.floor(Date.now() / 1000) + (++second % 30)) });
    const settle = (m: CreatedMerchant, over: Record<string, unknown> = {}) =>
      call(gw, m, "POST", "settlement/apply", {
        outTradeNo: "s-1",
        chainId: 31337,
        currencyId: USDT_ID,
        settlementAmount: "100.25",
        settlementAddress: OWN,
        ...over,
      });
    const detailOf = async (m: CreatedMerchant, kind: string, ref: Record<string, unknown>) =>
      (await call(gw, m, "GET", `${kind}/detail`, Object.fromEntries(Object.entries(ref).map(([k, v]) => [k, String(v)])))).body.data;

    before(async () => {
      gw = await startGateway(backend);
      [A, B] = gw.merchants as [CreatedMerchant, CreatedMerchant];
      C = await createMerchant(gw.db, createSecretBox(gw.config.masterKey), { name: "Shop C", id: 3n, payoutKeyMode: "gateway" });
    });
    after(async () => {
      await gw?.close();
    });

    it("settlement/apply records a pending settlement (kind 2, the shared payout counter), idempotently by outTradeNo, per merchant", async () => {
      const s1 = await settle(A);
      assert.equal(s1.status, 200, JSON.stringify(s1.body));
      const d = await detailOf(A, "settlement", { settlementId: s1.body.data.settlementId });
      assert.equal(d.settlementStatus, 1);
      assert.equal(d.state, 0);
      assert.equal(d.settlementAmount, "100250000");
      assert.equal(d.symbol, "USDT");
      assert.equal(d.decimals, 6);
      assert.equal(d.currencyId, USDT_ID);
      assert.equal(d.settlementAddress, OWN);
      assert.equal(d.approvedBy, null);
      const line = d.lines[0];
      assert.equal(line.payoutTypedData.message.kind, 2, "vault PayoutKind.Settlement");
      assert.equal(line.payoutTypedData.message.payoutId, line.payoutId);
      assert.equal(line.payoutTypedData.domain.verifyingContract, VAULT);

      const again = await settle(A, { settlementAmount: "100.250" });
      assert.equal(again.body.data.settlementId, d.settlementId, "same request, same settlement");
      const before = await snapshot(gw.db);
      const conflict = await settle(A, { settlementAmount: "1" });
      assert.equal(conflict.body.code, 40901);
      assert.match(conflict.body.msg, /outTradeNo/);
      assert.deepEqual(await snapshot(gw.db), before, "a conflict changes no row");

      // the same per-merchant counter as withdrawals
      const w = await call(gw, A, "POST", "withdraw/apply", {
        outTradeNo: "w-after-s",
        chainId: 31337,
        currencyId: USDT_ID,
        withdrawAmount: "1",
        withdrawAddress: OWN,
      });
      const wd = await detailOf(A, "withdraw", { withdrawId: w.body.data.withdrawId });
      assert.equal(BigInt(wd.lines[0].payoutId), BigInt(line.payoutId) + 1n);
      const s2 = await settle(A, { outTradeNo: "s-2", currencyId: ETH_ID, settlementAmount: "0.5" });
      assert.equal(BigInt((await detailOf(A, "settlement", { outTradeNo: "s-2" })).lines[0].payoutId), BigInt(line.payoutId) + 2n);
      assert.equal(s2.status, 200);

      // isolation: B neither sees nor touches A's settlement; its own s-1 is another order
      assert.equal((await call(gw, B, "GET", "settlement/detail", { outTradeNo: "s-1" })).body.code, 40407);
      assert.equal((await call(gw, B, "POST", "settlement/reject", { settlementId: d.settlementId })).body.code, 40407);
      assert.equal((await call(gw, B, "GET", "settlement/notify", { settlementId: String(d.settlementId) })).body.code, 40407);
      const sB = await settle(B);
      assert.equal(sB.status, 200);
      assert.notEqual(sB.body.data.settlementId, d.settlementId);
      assert.equal((await detailOf(B, "settlement", { outTradeNo: "s-1" })).lines[0].payoutTypedData.message.merchantId, "2");

      const events = await gw.db.query(
        "SELECT type, payload FROM outbox_events WHERE aggregate_kind = 'settlement' AND aggregate_id = $1",
        [String(d.settlementId)],
      );
      assert.equal(events.length, 1);
      assert.equal(events[0]!.type, "settlement.status_changed");
      assert.equal(events[0]!.payload.data.amount, "100250000");
    });

    it("merchant mode: approval needs the payout signer's signature; none is refused with no row changed", async () => {
      await settle(A, { outTradeNo: "s-m" });
      const s = await detailOf(A, "settlement", { outTradeNo: "s-m" });
      const before = await snapshot(gw.db);
      const none = await call(gw, A, "POST", "settlement/approve", { outTradeNo: "s-m" });
      assert.equal(none.status, 400);
      assert.equal(none.body.code, 40001);
      assert.match(none.body.msg, /signature/);
      const typed = typedFromJson(s.lines[0].payoutTypedData);
      const wrong = await privateKeyToAccount(`0x${"22".repeat(32)}`).signTypedData(typed);
      assert.equal((await call(gw, A, "POST", "settlement/approve", { outTradeNo: "s-m", signature: wrong })).body.code, 40007);
      assert.deepEqual(await snapshot(gw.db), before);

      const signature = await privateKeyToAccount(SIGNER_KEY).signTypedData(typed);
      const ok = await call(gw, A, "POST", "settlement/approve", { outTradeNo: "s-m", signature });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.data.state, 1);
      assert.equal(ok.body.data.settlementStatus, 2);
      assert.equal(ok.body.data.approvedBy, "merchant");
      assert.equal(ok.body.data.lines[0].payoutTypedData, undefined);
      const [row] = await gw.db.query("SELECT payout_signature, approved_by FROM settlement_orders WHERE settlement_no = $1", [
        s.settlementId,
      ]);
      assert.equal(row!.payout_signature, signature);
      assert.equal(row!.approved_by, "merchant");
      assert.equal((await call(gw, A, "POST", "settlement/reject", { outTradeNo: "s-m" })).body.code, 40902);

      // B has no payout signer at all
      await settle(B, { outTradeNo: "s-b" });
      const sB = await detailOf(B, "settlement", { outTradeNo: "s-b" });
      const sigB = await privateKeyToAccount(SIGNER_KEY).signTypedData(typedFromJson(sB.lines[0].payoutTypedData));
      assert.equal((await call(gw, B, "POST", "settlement/approve", { outTradeNo: "s-b", signature: sigB })).body.code, 40008);

      const rejected = await call(gw, A, "POST", "settlement/reject", { outTradeNo: "s-2", reason: "wrong token" });
      assert.equal(rejected.body.data.state, -1);
      assert.equal(rejected.body.data.settlementStatus, 5);
      assert.equal(rejected.body.data.reason, "wrong token");
      assert.deepEqual((await call(gw, A, "GET", "settlement/notify", { outTradeNo: "s-2" })).body, { code: 200, msg: "success" });
      const [latest] = await gw.db.query(
        "SELECT e.payload, e.forced FROM outbox_events e JOIN settlement_orders s ON s.settlement_no::text = e.aggregate_id AND e.aggregate_kind = 'settlement' WHERE s.merchant_settlement_id = 's-2' AND s.merchant_id = 1 ORDER BY e.seq DESC LIMIT 1",
      );
      assert.equal(latest!.payload.data.status, -1, "notify re-queues the latest event (the rejection)");
      assert.equal(latest!.forced, true);
    });

    it("gateway mode: the gateway signs approvals (one per line) with the key it holds; the signatures recover to the shown signer", async () => {
      const settings = (await call(gw, C, "GET", "merchant/settings")).body.data;
      assert.equal(settings.payoutKeyMode, "gateway");
      assert.equal(settings.gatewayKeyPresent, true);
      assert.equal(settings.payoutSigner, getAddress(C.payoutSigner!));
      const [m] = await gw.db.query("SELECT payout_key_enc FROM merchants WHERE id = 3");
      const key = createSecretBox(gw.config.masterKey).open(Buffer.from(m!.payout_key_enc));
      assert.equal(privateKeyToAccount(key as Hex).address, settings.payoutSigner, "the sealed key is the signer's");
      assert.ok(!Buffer.from(m!.payout_key_enc).toString("latin1").includes(key.slice(2)), "the key is not stored in clear");
      assert.ok(!JSON.stringify(settings).includes(key.slice(2)));

      await settle(C, { outTradeNo: "s-g" });
      const s = await detailOf(C, "settlement", { outTradeNo: "s-g" });
      const typed = typedFromJson(s.lines[0].payoutTypedData);
      const withSig = await call(gw, C, "POST", "settlement/approve", { outTradeNo: "s-g", signature: `0x${"ab".repeat(65)}` });
      assert.equal(withSig.body.code, 40009, "a signature is not expected when the gateway holds the key");
      const ok = await call(gw, C, "POST", "settlement/approve", { outTradeNo: "s-g" });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.data.state, 1);
      assert.equal(ok.body.data.approvedBy, "gateway");
      const [row] = await gw.db.query("SELECT payout_signature FROM settlement_orders WHERE settlement_no = $1", [s.settlementId]);
      const signature = row!.payout_signature as Hex;
      assert.equal(await recoverTypedDataAddress({ ...typed, signature }), settings.payoutSigner);
      assert.equal(await verifyTypedData({ ...typed, address: settings.payoutSigner, signature }), true);
      assert.equal(typed.domain.verifyingContract, VAULT);
      assert.equal(typed.domain.name, "PaymentVault");

      // a withdrawal of two recipients: one gateway signature per line
      const w = await call(gw, C, "POST", "withdraw/apply", {
        outTradeNo: "cw",
        chainId: 31337,
        currencyId: ETH_ID,
        withdrawAmount: "0.1,0.2",
        withdrawAddress: `${OWN},${OTHER}`,
      });
      const wd = await detailOf(C, "withdraw", { withdrawId: w.body.data.withdrawId });
      const wa = await call(gw, C, "POST", "withdraw/approve", { withdrawId: w.body.data.withdrawId });
      assert.equal(wa.body.data.approvedBy, "gateway", JSON.stringify(wa.body));
      const lines = await gw.db.query("SELECT line_no, payout_signature FROM withdrawal_orders WHERE withdraw_id = $1 ORDER BY line_no", [
        w.body.data.withdrawId,
      ]);
      assert.equal(lines.length, 2);
      for (const [i, l] of lines.entries()) {
        assert.equal(
          await recoverTypedDataAddress({ ...typedFromJson(wd.lines[i].payoutTypedData), signature: l.payout_signature }),
          settings.payoutSigner,
        );
      }

      await call(gw, C, "POST", "payment/createPaymentOrder", {
        chainId: 31337,
        outTradeNo: "c-pay",
        quoteCurrencySymbol: "USDT",
        quoteAmount: "10",
        notifyUrl: "https://c.example.test/n",
      });
      for (const event of [
        { type: "transferSeen", amount: 10_000_000n },
        { type: "transferConfirmed", amount: 10_000_000n },
      ] as const) {
        await applyPaymentEvent(gw.db, { merchantId: 3n, ref: { merchantOrderId: "c-pay" }, event, poolCooldownSeconds: 60 });
      }
      const r = (await call(gw, C, "POST", "refund/createRefundOrder", { outTradeNo: "c-pay", refundAmount: "4", refundAddress: OWN })).body
        .data;
      const rd = await detailOf(C, "refund", { refundId: r.refundId });
      const ra = await call(gw, C, "POST", "refund/approve", { refundId: r.refundId });
      assert.equal(ra.body.data.approvedBy, "gateway", JSON.stringify(ra.body));
      assert.equal((await detailOf(C, "refund", { refundId: r.refundId })).approvedBy, "gateway");
      const [rr] = await gw.db.query("SELECT payout_signature FROM refund_orders WHERE refund_no = $1", [r.refundId]);
      assert.equal(
        await recoverTypedDataAddress({ ...typedFromJson(rd.lines[0].payoutTypedData), signature: rr!.payout_signature }),
        settings.payoutSigner,
      );

      // merchant-mode approvals without a signature stay refused
      assert.equal((await call(gw, A, "POST", "withdraw/approve", { outTradeNo: "w-after-s" })).body.code, 40001);
    });

    it("the executor and follower functions: list, broadcast, drop, settle from the chain, fail", async () => {
      const list = await listExecutablePayouts(gw.db, { chainId: 31337, limit: 100 });
      const kinds = list.map((p) => `${p.kind}:${p.merchantId}`).sort();
      assert.deepEqual(kinds, ["refund:3", "settlement:1", "settlement:3", "withdrawal:3", "withdrawal:3"]);
      const sm = list.find((p) => p.kind === "settlement" && p.merchantId === 1n)!;
      assert.equal(sm.payout.kind, 2);
      assert.equal(sm.to, OWN);
      assert.equal(sm.token, USDT);
      assert.equal(sm.amount, 100_250_000n);
      assert.equal(
        await recoverTypedDataAddress({
          domain: { name: "PaymentVault", version: "1", chainId: 31337, verifyingContract: VAULT },
          types: PAYOUT_TYPES,
          primaryType: "Payout",
          message: sm.payout,
          signature: sm.signature,
        }),
        SIGNER_ADDRESS,
        "the listed payout is exactly what was signed",
      );
      assert.deepEqual(await listExecutablePayouts(gw.db, { chainId: 137, limit: 100 }), []);

      const hash = `0x${"aa".repeat(32)}`;
      const b = await markPayoutBroadcast(gw.db, sm.kind, sm.id, hash);
      assert.equal(b.status, 2);
      await assert.rejects(markPayoutBroadcast(gw.db, sm.kind, sm.id, hash), /cannot take event "broadcast"/);
      assert.ok(!(await listExecutablePayouts(gw.db, { chainId: 31337, limit: 100 })).some((p) => p.id === sm.id));
      assert.equal((await markPayoutDropped(gw.db, sm.kind, sm.id)).txHash, null);
      assert.ok(
        (await listExecutablePayouts(gw.db, { chainId: 31337, limit: 100 })).some((p) => p.id === sm.id),
        "dropped: to be re-sent",
      );
      await markPayoutBroadcast(gw.db, sm.kind, sm.id, hash);

      const mined = `0x${"bb".repeat(32)}`;
      const settled = await gw.db.transaction((tx) => settlePayoutFromChain(tx, { merchantId: 1n, payoutId: sm.payoutId, txHash: mined }));
      assert.equal(settled.outcome, "settled");
      const [no] = await gw.db.query("SELECT settlement_no FROM settlement_orders WHERE id = $1", [sm.id]);
      const detail = await detailOf(A, "settlement", { settlementId: no!.settlement_no });
      assert.equal(detail.settlementStatus, 0);
      assert.equal(detail.transferHash, mined, "the mined transaction's hash is kept");
      const [ev] = await gw.db.query(
        "SELECT payload FROM outbox_events WHERE aggregate_kind = 'settlement' AND aggregate_id = $1 ORDER BY seq DESC LIMIT 1",
        [String(no!.settlement_no)],
      );
      assert.equal(ev!.payload.data.status, 3);
      assert.equal(ev!.payload.data.txHash, mined);
      const twice = await gw.db.transaction((tx) => settlePayoutFromChain(tx, { merchantId: 1n, payoutId: sm.payoutId, txHash: mined }));
      assert.equal(twice.outcome, "already");
      assert.equal(
        (await gw.db.transaction((tx) => settlePayoutFromChain(tx, { merchantId: 1n, payoutId: 999_999n, txHash: mined }))).outcome,
        "unknown",
      );

      // an approved withdrawal executed without a recorded broadcast goes 1 -> 2 -> 3, line by line; the
      // withdrawal calls back once, when the last line is paid
      const wds = list.filter((p) => p.kind === "withdrawal");
      for (const wd of wds) {
        const direct = await gw.db.transaction((tx) => settlePayoutFromChain(tx, { merchantId: 3n, payoutId: wd.payoutId, txHash: mined }));
        assert.equal(direct.outcome, "settled");
      }
      const [g] = await gw.db.query("SELECT withdraw_id::text AS id FROM withdrawal_orders WHERE id = $1", [wds[0]!.id]);
      const wdEvents = await gw.db.query(
        "SELECT payload FROM outbox_events WHERE aggregate_kind = 'withdrawal' AND aggregate_id = $1 ORDER BY seq",
        [g!.id],
      );
      assert.deepEqual(
        wdEvents.map((e) => [e.payload.data.from, e.payload.data.status]),
        [
          [null, 0],
          [0, 1],
          [1, 2],
          [2, 3],
        ],
        "the withdrawal's own states: applied, approved, sent, paid",
      );
      assert.equal((await detailOf(C, "withdraw", { withdrawId: g!.id })).withdrawStatus, 0);

      // a failed refund gives its amount back to the payment
      const rf = list.find((p) => p.kind === "refund")!;
      const failed = await markPayoutFailed(gw.db, rf.kind, rf.id, "vault balance too low");
      assert.equal(failed.status, -2);
      assert.equal(failed.reason, "vault balance too low");
      const [pay] = await gw.db.query("SELECT refunded_amount FROM payment_orders WHERE id = $1", [failed.payOrderId]);
      assert.equal(pay!.refunded_amount, "0");
      // a rejected order the vault paid anyway is reported, not changed
      const rej = await gw.db.query("SELECT payout_id FROM settlement_orders WHERE merchant_id = 1 AND status = -1");
      const odd = await gw.db.transaction((tx) =>
        settlePayoutFromChain(tx, { merchantId: 1n, payoutId: BigInt(rej[0]!.payout_id), txHash: mined }),
      );
      assert.equal(odd.outcome, "unexpected");
    });

    it("merchant/settings shows the settings without the secret; update and webhook secret rotation", async () => {
      const s = await call(gw, A, "GET", "merchant/settings");
      assert.equal(s.status, 200, JSON.stringify(s.body));
      assert.deepEqual(
        { ...s.body.data, createTime: undefined },
        {
          orgId: 1,
          name: "Shop A",
          feeBps: 0,
          payoutSigner: SIGNER_ADDRESS,
          payoutKeyMode: "merchant",
          gatewayKeyPresent: false,
          rechargeNotifyUrl: null,
          callbackAllEvents: false,
          webhookSecretHint: `whsec_…${A.webhookSecret.slice(-4)}`,
          underpaymentToleranceBps: 0,
          createTime: undefined,
        },
      );
      assert.ok(!JSON.stringify(s.body).includes(A.webhookSecret.slice(6, 20)), "the secret is not shown");

      const u = await call(gw, A, "POST", "merchant/settings/update", {
        rechargeNotifyUrl: "https://a.example.test/recharge",
        name: "Shop A2",
      });
      assert.equal(u.status, 200, JSON.stringify(u.body));
      assert.equal(u.body.data.rechargeNotifyUrl, "https://a.example.test/recharge");
      assert.equal(u.body.data.name, "Shop A2");
      const onlyUrl = await call(gw, A, "POST", "merchant/settings/update", { rechargeNotifyUrl: null });
      assert.equal(onlyUrl.body.data.rechargeNotifyUrl, null, "null clears the URL");
      assert.equal(onlyUrl.body.data.name, "Shop A2", "fields not sent stay");
      assert.equal((await call(gw, B, "GET", "merchant/settings")).body.data.name, "Shop B", "another merchant is untouched");

      const r = await call(gw, A, "POST", "merchant/webhookSecret/rotate", {});
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const secret = r.body.data.webhookSecret;
      assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.notEqual(secret, A.webhookSecret);
      const [row] = await gw.db.query("SELECT webhook_secret_enc FROM merchants WHERE id = 1");
      assert.equal(createSecretBox(gw.config.masterKey).open(Buffer.from(row!.webhook_secret_enc)), secret);
      assert.equal((await call(gw, A, "GET", "merchant/settings")).body.data.webhookSecretHint, `whsec_…${secret.slice(-4)}`);
      const [rowB] = await gw.db.query("SELECT webhook_secret_enc FROM merchants WHERE id = 2");
      assert.equal(createSecretBox(gw.config.masterKey).open(Buffer.from(rowB!.webhook_secret_enc)), B.webhookSecret);
      assert.equal((await call(gw, A, "POST", "merchant/webhookSecret/rotate", {}, fresh())).status, 200, "signed again: rotated again");
    });

    it("bad input on every payout and settings route: a 4xx with a code and a message naming the problem, no row changed", async () => {
      const sig = `0x${"ab".repeat(65)}`;
      const apply = { outTradeNo: "bad-1", chainId: 31337, currencyId: USDT_ID, settlementAmount: "1", settlementAddress: OWN };
      const bad: [string, "GET" | "POST", string, unknown, number, RegExp][] = [
        ["apply without amount", "POST", "settlement/apply", { ...apply, settlementAmount: undefined }, 40001, /settlementAmount/],
        ["apply negative", "POST", "settlement/apply", { ...apply, settlementAmount: "-1" }, 40002, /settlementAmount/],
        ["apply zero", "POST", "settlement/apply", { ...apply, settlementAmount: "0.0" }, 40002, /greater than zero/],
        ["apply too many decimals", "POST", "settlement/apply", { ...apply, settlementAmount: "1.0000001" }, 40002, /USDT has 6/],
        ["apply unknown chain", "POST", "settlement/apply", { ...apply, chainId: 5 }, 40003, /31337/],
        ["apply unknown currency", "POST", "settlement/apply", { ...apply, currencyId: 99 }, 40004, /USDT/],
        ["apply bad address", "POST", "settlement/apply", { ...apply, settlementAddress: "0x12" }, 40001, /settlementAddress/],
        ["apply to the vault", "POST", "settlement/apply", { ...apply, settlementAddress: VAULT }, 40011, /vault/],
        ["apply without address", "POST", "settlement/apply", { ...apply, settlementAddress: undefined }, 40001, /settlementAddress/],
        ["apply bad notifyUrl", "POST", "settlement/apply", { ...apply, notifyUrl: "ftp://x.example" }, 40001, /notifyUrl/],
        ["apply unknown field", "POST", "settlement/apply", { ...apply, userId: "1" }, 40001, /unknown field "userId"/],
        ["apply bad outTradeNo", "POST", "settlement/apply", { ...apply, outTradeNo: "has space" }, 40001, /outTradeNo/],
        ["detail without a reference", "GET", "settlement/detail", undefined, 40001, /settlementId or outTradeNo/],
        ["detail unknown", "GET", "settlement/detail", { settlementId: "999999" }, 40407, /999999/],
        ["approve short signature", "POST", "settlement/approve", { outTradeNo: "s-1", signature: "0x12" }, 40001, /signature/],
        ["approve without reference", "POST", "settlement/approve", { signature: sig }, 40001, /settlementId or outTradeNo/],
        ["approve without signature", "POST", "settlement/approve", { outTradeNo: "s-1" }, 40001, /signature/],
        [
          "approve with both signature forms",
          "POST",
          "settlement/approve",
          { outTradeNo: "s-1", signature: sig, signatures: [sig] },
          40001,
          /not both/,
        ],
        ["approve unknown", "POST", "settlement/approve", { outTradeNo: "nope", signature: sig }, 40407, /nope/],
        ["approve bad signature", "POST", "settlement/approve", { outTradeNo: "s-1", signature: sig }, 40007, /payout signer/],
        ["reject unknown", "POST", "settlement/reject", { settlementId: 999999 }, 40407, /999999/],
        ["reject long reason", "POST", "settlement/reject", { outTradeNo: "s-1", reason: "x".repeat(300) }, 40001, /reason/],
        ["notify unknown", "GET", "settlement/notify", { outTradeNo: "nope" }, 40407, /nope/],
        ["settings with a query", "GET", "merchant/settings", { x: "1" }, 40001, /unknown field "x"/],
        ["update nothing", "POST", "merchant/settings/update", {}, 40001, /fewer than 1/],
        ["update fee", "POST", "merchant/settings/update", { feeBps: 0 }, 40001, /unknown field "feeBps"/],
        ["update signer", "POST", "merchant/settings/update", { payoutSigner: OWN }, 40001, /unknown field/],
        ["update key mode", "POST", "merchant/settings/update", { payoutKeyMode: "gateway" }, 40001, /unknown field/],
        ["update bad url", "POST", "merchant/settings/update", { rechargeNotifyUrl: "javascript:alert(1)" }, 40001, /rechargeNotifyUrl/],
        ["update empty name", "POST", "merchant/settings/update", { name: "" }, 40001, /name/],
        ["rotate with a field", "POST", "merchant/webhookSecret/rotate", { secret: "whsec_mine" }, 40001, /unknown field "secret"/],
      ];
      const before = await snapshot(gw.db);
      for (const [name, method, path, payload, code, msg] of bad) {
        const res = await call(gw, A, method, path, payload);
        assert.equal(res.body.code, code, `${name}: ${JSON.stringify(res.body)}`);
        assert.equal(res.status, Math.floor(code / 100), name);
        assert.match(res.body.msg, msg, name);
        assert.equal(res.body.data, null, name);
      }
      assert.deepEqual(await snapshot(gw.db), before);
    });

    it("concurrency: one settlement per outTradeNo, distinct payout ids, one approval wins", async () => {
      const same = await Promise.all(Array.from({ length: 20 }, () => settle(A, { outTradeNo: "par-same", settlementAmount: "2" })));
      for (const r of same) assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(new Set(same.map((r) => r.body.data.settlementId)).size, 1);
      const distinct = await Promise.all(
        Array.from({ length: 20 }, (_, i) => settle(C, { outTradeNo: `par-${i}`, settlementAmount: "1" })),
      );
      for (const r of distinct) assert.equal(r.status, 200, JSON.stringify(r.body));
      const payoutIds = await gw.db.query(
        "SELECT payout_id FROM settlement_orders WHERE merchant_id = 3 AND merchant_settlement_id LIKE 'par-%'",
      );
      assert.equal(new Set(payoutIds.map((r) => r.payout_id)).size, 20, "distinct payout ids");
      const [dup] = await gw.db.query(
        `SELECT count(*)::text AS n FROM (SELECT payout_id FROM refund_orders WHERE merchant_id = 3 UNION ALL
           SELECT payout_id FROM withdrawal_orders WHERE merchant_id = 3 UNION ALL SELECT payout_id FROM settlement_orders WHERE merchant_id = 3) x
         GROUP BY payout_id HAVING count(*) > 1`,
      );
      assert.equal(dup, undefined, "no payout id used twice across the kinds");
      const id = distinct[0]!.body.data.settlementId;
      // each approval signed at its own second: distinct requests racing for one order
      const approvals = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          call(gw, C, "POST", "settlement/approve", { settlementId: id }, { timestamp: String(Math.floor(Date.now() / 1000) - i) }),
        ),
      );
      assert.equal(approvals.filter((r) => r.status === 200).length, 1);
      for (const r of approvals.filter((r) => r.status !== 200)) assert.equal(r.body.code, 40902);
      const [n] = await gw.db.query(
        "SELECT count(*)::text AS n FROM outbox_events WHERE aggregate_kind = 'settlement' AND aggregate_id = $1",
        [String(id)],
      );
      assert.equal(n!.n, "2", "created and approved: one event each");
    });

    it("logs carry neither the gateway-held key nor a rotated webhook secret nor a request signature", async () => {
      const lines: string[] = [];
      const stream = { write: (l: string) => void lines.push(l) };
      const app = await buildApp({
        db: gw.db,
        config: gw.config,
        logger: { level: "trace", stream, redact: ['req.headers["x-pay-sign"]'] } as any,
      });
      await app.listen({ host: "127.0.0.1", port: 0 });
      try {
        const local = { ...gw, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
        const s = (
          await call(local, C, "POST", "settlement/apply", {
            outTradeNo: "log-1",
            chainId: 31337,
            currencyId: ETH_ID,
            settlementAmount: "1",
            settlementAddress: OWN,
          })
        ).body.data;
        assert.equal(
          (await call(local, C, "POST", "settlement/approve", { settlementId: s.settlementId })).body.data.approvedBy,
          "gateway",
        );
        const secret = (await call(local, C, "POST", "merchant/webhookSecret/rotate", {}, fresh())).body.data.webhookSecret;
        C = { ...C, webhookSecret: secret };
        const [m] = await gw.db.query("SELECT payout_key_enc FROM merchants WHERE id = 3");
        const key = createSecretBox(gw.config.masterKey).open(Buffer.from(m!.payout_key_enc));
        const log = lines.join("");
        assert.ok(lines.length >= 6, "the requests were logged");
        assert.ok(!log.includes(key.slice(2)), "no payout key in the logs");
        assert.ok(!log.includes(secret.slice(6)), "no webhook secret in the logs");
        assert.ok(!log.includes(C.apiSecret.slice(3)), "no API secret in the logs");
      } finally {
        await app.close();
      }
    });

    it("the OpenAPI document lists the payout, settlement and settings routes", async () => {
      const doc = (await (await fetch(`${gw.url}/api/openapi.json`)).json()) as any;
      for (const [path, method] of [
        ["/api/mer/settlement/apply", "post"],
        ["/api/mer/settlement/detail", "get"],
        ["/api/mer/settlement/list", "get"],
        ["/api/mer/settlement/approve", "post"],
        ["/api/mer/settlement/reject", "post"],
        ["/api/mer/settlement/notify", "get"],
        ["/api/mer/settlement/notify", "post"],
        ["/api/mer/refund/approve", "post"],
        ["/api/mer/withdraw/approve", "post"],
        ["/api/mer/merchant/settings", "get"],
        ["/api/mer/merchant/settings/update", "post"],
        ["/api/mer/merchant/webhookSecret/rotate", "post"],
      ] as const) {
        assert.ok(doc.paths[path]?.[method], `${method} ${path}`);
      }
      const approve = doc.paths["/api/mer/refund/approve"].post.requestBody.content["application/json"].schema;
      assert.ok(!(approve.required ?? []).includes("signature"), "signature is optional (gateway mode)");
      assert.ok(approve.properties.signatures, "one signature per line");
      assert.ok(doc.components.schemas.Settlement.properties.approvedBy);
      for (const code of [40009, 40011, 40407]) assert.ok(doc.info.description.includes(`- ${code}:`), `error code ${code}`);
    });
  });
}

describe("createMerchant CLI with a gateway-held payout key", () => {
  const dir = mkdtempSync(join(tmpdir(), "gw-payout-cli-"));
  // the gateway's environment: its config file names the store and the key file, which its first start created
  const configFile = join(dir, "gateway.json");
  const chain = {
    chainId: 31337,
    code: "local",
    name: "Hardhat",
    vault: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    confirmations: 1,
    tokens: [{ symbol: "ETH", address: "0x0000000000000000000000000000000000000000", decimals: 18 }],
  };
  writeFileSync(configFile, JSON.stringify({ pgliteDir: "pglite", masterKeyFile: "master.key", chains: [chain] }));
  const env: NodeJS.ProcessEnv = { ...process.env, GATEWAY_CONFIG: configFile };
  for (const k of ["DATABASE_URL", "PGLITE_DIR", "GATEWAY_MASTER_KEY", "GATEWAY_MASTER_KEY_FILE"]) delete env[k];
  const cli = (args: string[]) =>
    promisify(execFile)(process.execPath, ["--import", "tsx", "indexer/src/cli/createMerchant.ts", ...args], { env, cwd: process.cwd() });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints the signer address to register, never the key; refuses a signer of its own", async () => {
    await (await openGatewayStore(loadConfig(env, { createMasterKey: true }), { who: "the gateway" })).close();
    const { stdout, stderr } = await cli(["--name", "Gateway Shop", "--id", "9", "--payout-key-mode", "gateway"]);
    const m = JSON.parse(stdout);
    assert.equal(m.payoutKeyMode, "gateway");
    assert.equal(m.payoutSigner, getAddress(m.payoutSigner));
    assert.deepEqual(Object.keys(m).sort(), ["apiKey", "apiSecret", "merchantId", "payoutKeyMode", "payoutSigner", "webhookSecret"]);
    assert.ok(!/[0-9a-f]{64}(?![0-9a-f])/i.test(stdout.replace(m.apiSecret, "")), "no 32-byte hex key in the output");
    assert.match(stderr, /^create-merchant: merchant 9 created\. Register it in the vault .*npm run admin -- register-merchant/);
    assert.ok(!/[0-9a-f]{64}(?![0-9a-f])/i.test(stderr), "no key on stderr either");
    await assert.rejects(
      cli(["--name", "X", "--payout-key-mode", "gateway", "--signer", OWN]),
      /cannot be given with --payout-key-mode gateway/,
    );
  });
});

payoutSuite("pglite");
if (await postgresReachable()) {
  payoutSuite("postgres");
} else {
  const notice = `PostgreSQL not reachable at ${PG_URL}: the server tests were skipped (PGlite tests still ran)`;
  console.log(`# NOTICE: ${notice}`);
  describe("payouts over HTTP (postgres)", () => {
    it("runs against a PostgreSQL server", { skip: notice }, () => {});
  });
}
