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
import { PG_URL, SIGNER_ADDRESS, SIGNER_KEY, USDT, VAULT, call, postgresReachable, startGateway, type Backend, type TestGateway } from "./helpers.js";

const OWN = getAddress("0x90f79bf6eb2c4f870365e785982e1f101e93b906"); // a merchant's own address (Hardhat account 3)

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
    await db.query("SELECT id, name, recharge_notify_url, encode(webhook_secret_enc, 'hex') AS w, next_payout_id FROM merchants ORDER BY id")
  ).map((r) => JSON.stringify(r));
  out.states = (await db.query("SELECT id, status, payout_signature FROM settlement_orders ORDER BY id")).map((r) => JSON.stringify(r));
  return out;
}

function payoutSuite(backend: Backend) {
  describe(`payouts, settlements and merchant settings over HTTP (${backend})`, () => {
    let gw: TestGateway;
    let A: CreatedMerchant; // merchant-held payout key (SIGNER_ADDRESS)
    let B: CreatedMerchant; // no payout signer
    let C: CreatedMerchant; // gateway-held payout key
    const settle = (m: CreatedMerchant, over: Record<string, unknown> = {}) =>
      call(gw, m, "POST", "settlement/apply", { merchantSettlementId: "s-1", chainId: 31337, token: "USDT", amount: "100.25", toAddress: OWN, ...over });

    before(async () => {
      gw = await startGateway(backend);
      [A, B] = gw.merchants as [CreatedMerchant, CreatedMerchant];
      C = await createMerchant(gw.db, createSecretBox(gw.config.masterKey), { name: "Shop C", id: 3n, payoutKeyMode: "gateway" });
    });
    after(async () => {
      await gw?.close();
    });

    it("settlement/apply records a pending settlement (kind 2, the shared payout counter), idempotently, per merchant", async () => {
      const s1 = await settle(A);
      assert.equal(s1.status, 200, JSON.stringify(s1.body));
      const d = s1.body.data;
      assert.equal(d.state, 0);
      assert.equal(d.amount, "100.25");
      assert.equal(d.amountBaseUnits, "100250000");
      assert.equal(d.token, USDT);
      assert.equal(d.tokenSymbol, "USDT");
      assert.equal(d.toAddress, OWN);
      assert.equal(d.approvedBy, null);
      assert.equal(d.payoutTypedData.message.kind, 2, "vault PayoutKind.Settlement");
      assert.equal(d.payoutTypedData.message.payoutId, d.payoutId);
      assert.equal(d.payoutTypedData.domain.verifyingContract, VAULT);

      const again = await settle(A, { amount: "100.250" });
      assert.equal(again.body.data.settlementOrderId, d.settlementOrderId, "same request, same settlement");
      const before = await snapshot(gw.db);
      const conflict = await settle(A, { amount: "1" });
      assert.equal(conflict.body.code, 40901);
      assert.match(conflict.body.msg, /merchantSettlementId/);
      assert.deepEqual(await snapshot(gw.db), before, "a conflict changes no row");

      // the same per-merchant counter as withdrawals
      await call(gw, A, "POST", "user/create", { uuid: "u-settle" });
      const w = await call(gw, A, "POST", "withdraw/apply", {
        merchantWithdrawId: "w-after-s",
        uuid: "u-settle",
        chainId: 31337,
        token: "USDT",
        amount: "1",
        toAddress: OWN,
      });
      assert.equal(BigInt(w.body.data.payoutId), BigInt(d.payoutId) + 1n);
      const s2 = await settle(A, { merchantSettlementId: "s-2", token: "ETH", amount: "0.5" });
      assert.equal(BigInt(s2.body.data.payoutId), BigInt(d.payoutId) + 2n);

      // isolation: B neither sees nor touches A's settlement; its own s-1 is another order
      assert.equal((await call(gw, B, "GET", "settlement/detail", { merchantSettlementId: "s-1" })).body.code, 40407);
      assert.equal((await call(gw, B, "POST", "settlement/reject", { settlementOrderId: d.settlementOrderId })).body.code, 40407);
      assert.equal((await call(gw, B, "POST", "settlement/notify", { settlementOrderId: d.settlementOrderId })).body.code, 40407);
      const sB = await settle(B);
      assert.equal(sB.status, 200);
      assert.notEqual(sB.body.data.settlementOrderId, d.settlementOrderId);
      assert.equal(sB.body.data.payoutTypedData.message.merchantId, "2");

      const byId = await call(gw, A, "GET", "settlement/detail", { settlementOrderId: d.settlementOrderId });
      assert.deepEqual(byId.body.data, d);
      const events = await gw.db.query("SELECT type, payload FROM outbox_events WHERE aggregate_kind = 'settlement' AND aggregate_id = $1", [
        d.settlementOrderId,
      ]);
      assert.equal(events.length, 1);
      assert.equal(events[0]!.type, "settlement.status_changed");
      assert.equal(events[0]!.payload.data.merchantSettlementId, "s-1");
      assert.equal(events[0]!.payload.data.amount, "100250000");
    });

    it("merchant mode: approval needs the payout signer's signature; none is refused with no row changed", async () => {
      const s = (await settle(A, { merchantSettlementId: "s-m" })).body.data;
      const before = await snapshot(gw.db);
      const none = await call(gw, A, "POST", "settlement/approve", { merchantSettlementId: "s-m" });
      assert.equal(none.status, 400);
      assert.equal(none.body.code, 40001);
      assert.match(none.body.msg, /signature/);
      const typed = typedFromJson(s.payoutTypedData);
      const wrong = await privateKeyToAccount(`0x${"22".repeat(32)}`).signTypedData(typed);
      assert.equal((await call(gw, A, "POST", "settlement/approve", { merchantSettlementId: "s-m", signature: wrong })).body.code, 40007);
      assert.deepEqual(await snapshot(gw.db), before);

      const signature = await privateKeyToAccount(SIGNER_KEY).signTypedData(typed);
      const ok = await call(gw, A, "POST", "settlement/approve", { merchantSettlementId: "s-m", signature });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.data.state, 1);
      assert.equal(ok.body.data.approvedBy, "merchant");
      assert.equal(ok.body.data.payoutTypedData, undefined);
      const [row] = await gw.db.query("SELECT payout_signature, approved_by FROM settlement_orders WHERE id = $1", [s.settlementOrderId]);
      assert.equal(row!.payout_signature, signature);
      assert.equal(row!.approved_by, "merchant");
      assert.equal((await call(gw, A, "POST", "settlement/reject", { merchantSettlementId: "s-m" })).body.code, 40902);

      // B has no payout signer at all
      const sB = (await settle(B, { merchantSettlementId: "s-b" })).body.data;
      const sigB = await privateKeyToAccount(SIGNER_KEY).signTypedData(typedFromJson(sB.payoutTypedData));
      assert.equal((await call(gw, B, "POST", "settlement/approve", { merchantSettlementId: "s-b", signature: sigB })).body.code, 40008);

      const rejected = await call(gw, A, "POST", "settlement/reject", { merchantSettlementId: "s-2", reason: "wrong token" });
      assert.equal(rejected.body.data.state, -1);
      assert.equal(rejected.body.data.reason, "wrong token");
      const notify = await call(gw, A, "POST", "settlement/notify", { merchantSettlementId: "s-2" });
      const [latest] = await gw.db.query("SELECT id, type, payload FROM outbox_events WHERE id = $1", [notify.body.data.eventId]);
      assert.equal(latest!.payload.data.state, -1, "notify re-queues the latest event (the rejection)");
    });

    it("gateway mode: the gateway signs approvals with the key it holds; the signature recovers to the shown signer", async () => {
      const settings = (await call(gw, C, "GET", "merchant/settings")).body.data;
      assert.equal(settings.payoutKeyMode, "gateway");
      assert.equal(settings.gatewayKeyPresent, true);
      assert.equal(settings.payoutSigner, getAddress(C.payoutSigner!));
      const [m] = await gw.db.query("SELECT payout_key_enc FROM merchants WHERE id = 3");
      const key = createSecretBox(gw.config.masterKey).open(Buffer.from(m!.payout_key_enc));
      assert.equal(privateKeyToAccount(key as Hex).address, settings.payoutSigner, "the sealed key is the signer's");
      assert.ok(!Buffer.from(m!.payout_key_enc).toString("latin1").includes(key.slice(2)), "the key is not stored in clear");
      assert.ok(!JSON.stringify(settings).includes(key.slice(2)));

      const s = (await settle(C, { merchantSettlementId: "s-g" })).body.data;
      const typed = typedFromJson(s.payoutTypedData);
      const withSig = await call(gw, C, "POST", "settlement/approve", { merchantSettlementId: "s-g", signature: `0x${"ab".repeat(65)}` });
      assert.equal(withSig.body.code, 40009, "a signature is not expected when the gateway holds the key");
      const ok = await call(gw, C, "POST", "settlement/approve", { merchantSettlementId: "s-g" });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.data.state, 1);
      assert.equal(ok.body.data.approvedBy, "gateway");
      const [row] = await gw.db.query("SELECT payout_signature FROM settlement_orders WHERE id = $1", [s.settlementOrderId]);
      const signature = row!.payout_signature as Hex;
      assert.equal(await recoverTypedDataAddress({ ...typed, signature }), settings.payoutSigner);
      assert.equal(await verifyTypedData({ ...typed, address: settings.payoutSigner, signature }), true);
      assert.equal(typed.domain.verifyingContract, VAULT);
      assert.equal(typed.domain.name, "PaymentVault");

      // the same for a withdrawal and a refund of C
      await call(gw, C, "POST", "user/create", { uuid: "c-user" });
      const w = (
        await call(gw, C, "POST", "withdraw/apply", { merchantWithdrawId: "cw", uuid: "c-user", chainId: 31337, token: "ETH", amount: "0.1", toAddress: OWN })
      ).body.data;
      const wa = await call(gw, C, "POST", "withdraw/approve", { withdrawOrderId: w.withdrawOrderId });
      assert.equal(wa.body.data.approvedBy, "gateway", JSON.stringify(wa.body));
      const [wr] = await gw.db.query("SELECT payout_signature FROM withdrawal_orders WHERE id = $1", [w.withdrawOrderId]);
      assert.equal(await recoverTypedDataAddress({ ...typedFromJson(w.payoutTypedData), signature: wr!.payout_signature }), settings.payoutSigner);

      const order = (
        await call(gw, C, "POST", "payment/createPaymentOrder", {
          merchantOrderId: "c-pay",
          chainId: 31337,
          token: "USDT",
          amount: "10",
          notifyUrl: "https://c.example.test/n",
        })
      ).body.data;
      for (const event of [
        { type: "transferSeen", amount: 10_000_000n },
        { type: "transferConfirmed", amount: 10_000_000n },
      ] as const) {
        await applyPaymentEvent(gw.db, { merchantId: 3n, ref: { payOrderId: order.payOrderId }, event, poolCooldownSeconds: 60 });
      }
      const r = (await call(gw, C, "POST", "refund/createRefundOrder", { merchantRefundId: "cr", payOrderId: order.payOrderId, amount: "4", toAddress: OWN }))
        .body.data;
      const ra = await call(gw, C, "POST", "refund/approve", { refundOrderId: r.refundOrderId });
      assert.equal(ra.body.data.approvedBy, "gateway", JSON.stringify(ra.body));
      const detail = await call(gw, C, "GET", "refund/detail", { refundOrderId: r.refundOrderId });
      assert.equal(detail.body.data.approvedBy, "gateway");
      const [rr] = await gw.db.query("SELECT payout_signature FROM refund_orders WHERE id = $1", [r.refundOrderId]);
      assert.equal(await recoverTypedDataAddress({ ...typedFromJson(r.payoutTypedData), signature: rr!.payout_signature }), settings.payoutSigner);

      // merchant-mode refund and withdrawal approvals without a signature stay refused
      assert.equal((await call(gw, A, "POST", "withdraw/approve", { merchantWithdrawId: "w-after-s" })).body.code, 40001);
    });

    it("the executor and follower functions: list, broadcast, drop, settle from the chain, fail", async () => {
      const list = await listExecutablePayouts(gw.db, { chainId: 31337, limit: 100 });
      const kinds = list.map((p) => `${p.kind}:${p.merchantId}`).sort();
      assert.deepEqual(kinds, ["refund:3", "settlement:1", "settlement:3", "withdrawal:3"]);
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
      assert.ok((await listExecutablePayouts(gw.db, { chainId: 31337, limit: 100 })).some((p) => p.id === sm.id), "dropped: to be re-sent");
      await markPayoutBroadcast(gw.db, sm.kind, sm.id, hash);

      const mined = `0x${"bb".repeat(32)}`;
      const settled = await gw.db.transaction((tx) => settlePayoutFromChain(tx, { merchantId: 1n, payoutId: sm.payoutId, txHash: mined }));
      assert.equal(settled.outcome, "settled");
      const detail = (await call(gw, A, "GET", "settlement/detail", { settlementOrderId: sm.id })).body.data;
      assert.equal(detail.state, 3);
      assert.equal(detail.txHash, mined, "the mined transaction's hash is kept");
      const [ev] = await gw.db.query(
        "SELECT payload FROM outbox_events WHERE aggregate_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
        [sm.id],
      );
      assert.equal(ev!.payload.data.state, 3);
      assert.equal(ev!.payload.data.txHash, mined);
      const twice = await gw.db.transaction((tx) => settlePayoutFromChain(tx, { merchantId: 1n, payoutId: sm.payoutId, txHash: mined }));
      assert.equal(twice.outcome, "already");
      assert.equal((await gw.db.transaction((tx) => settlePayoutFromChain(tx, { merchantId: 1n, payoutId: 999_999n, txHash: mined }))).outcome, "unknown");

      // an approved payout executed without a recorded broadcast goes 1 -> 2 -> 3
      const wd = list.find((p) => p.kind === "withdrawal")!;
      const direct = await gw.db.transaction((tx) => settlePayoutFromChain(tx, { merchantId: 3n, payoutId: wd.payoutId, txHash: mined }));
      assert.equal(direct.outcome, "settled");
      const wdEvents = await gw.db.query("SELECT payload FROM outbox_events WHERE aggregate_id = $1", [wd.id]);
      assert.deepEqual(wdEvents.map((e) => e.payload.data.state).sort(), [0, 1, 2, 3]);

      // a failed refund gives its amount back to the payment
      const rf = list.find((p) => p.kind === "refund")!;
      const failed = await markPayoutFailed(gw.db, rf.kind, rf.id, "vault balance too low");
      assert.equal(failed.status, -2);
      assert.equal(failed.reason, "vault balance too low");
      const [pay] = await gw.db.query("SELECT refunded_amount FROM payment_orders WHERE id = $1", [failed.payOrderId]);
      assert.equal(pay!.refunded_amount, "0");
      // a rejected order the vault paid anyway is reported, not changed
      const rej = await gw.db.query("SELECT payout_id FROM settlement_orders WHERE merchant_id = 1 AND status = -1");
      const odd = await gw.db.transaction((tx) => settlePayoutFromChain(tx, { merchantId: 1n, payoutId: BigInt(rej[0]!.payout_id), txHash: mined }));
      assert.equal(odd.outcome, "unexpected");
    });

    it("merchant/settings shows the settings without the secret; update and webhook secret rotation", async () => {
      const s = await call(gw, A, "GET", "merchant/settings");
      assert.equal(s.status, 200, JSON.stringify(s.body));
      assert.deepEqual(
        { ...s.body.data, createTime: undefined },
        {
          merchantId: "1",
          name: "Shop A",
          feeBps: 0,
          payoutSigner: SIGNER_ADDRESS,
          payoutKeyMode: "merchant",
          gatewayKeyPresent: false,
          rechargeNotifyUrl: null,
          webhookSecretHint: `whsec_…${A.webhookSecret.slice(-4)}`,
          createTime: undefined,
        },
      );
      assert.ok(!JSON.stringify(s.body).includes(A.webhookSecret.slice(6, 20)), "the secret is not shown");

      const u = await call(gw, A, "POST", "merchant/settings/update", { rechargeNotifyUrl: "https://a.example.test/recharge", name: "Shop A2" });
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
    });

    it("bad input on every new route: a 4xx with a code and a message naming the problem, no row changed", async () => {
      const sig = `0x${"ab".repeat(65)}`;
      const apply = { merchantSettlementId: "bad-1", chainId: 31337, token: "USDT", amount: "1", toAddress: OWN };
      const bad: [string, "GET" | "POST", string, unknown, number, RegExp][] = [
        ["apply without amount", "POST", "settlement/apply", { ...apply, amount: undefined }, 40001, /amount/],
        ["apply negative", "POST", "settlement/apply", { ...apply, amount: "-1" }, 40001, /amount/],
        ["apply numeric amount", "POST", "settlement/apply", { ...apply, amount: 1 }, 40001, /amount/],
        ["apply zero", "POST", "settlement/apply", { ...apply, amount: "0.0" }, 40002, /greater than zero/],
        ["apply too many decimals", "POST", "settlement/apply", { ...apply, amount: "1.0000001" }, 40002, /6 decimals/],
        ["apply unknown chain", "POST", "settlement/apply", { ...apply, chainId: 5 }, 40003, /31337/],
        ["apply unknown token", "POST", "settlement/apply", { ...apply, token: "DOGE" }, 40004, /USDT/],
        ["apply bad address", "POST", "settlement/apply", { ...apply, toAddress: "0x12" }, 40001, /toAddress/],
        ["apply without toAddress", "POST", "settlement/apply", { ...apply, toAddress: undefined }, 40001, /toAddress/],
        ["apply bad notifyUrl", "POST", "settlement/apply", { ...apply, notifyUrl: "ftp://x.example" }, 40001, /notifyUrl/],
        ["apply unknown field", "POST", "settlement/apply", { ...apply, userId: "1" }, 40001, /additional/],
        ["apply bad id", "POST", "settlement/apply", { ...apply, merchantSettlementId: "has space" }, 40001, /merchantSettlementId/],
        ["detail without a reference", "GET", "settlement/detail", undefined, 40001, /querystring/],
        ["detail with both", "GET", "settlement/detail", { settlementOrderId: "a", merchantSettlementId: "b" }, 40001, /querystring/],
        ["detail unknown", "GET", "settlement/detail", { settlementOrderId: "nope" }, 40407, /nope/],
        ["approve short signature", "POST", "settlement/approve", { merchantSettlementId: "s-1", signature: "0x12" }, 40001, /signature/],
        ["approve without reference", "POST", "settlement/approve", { signature: sig }, 40001, /exactly one/],
        ["approve without signature", "POST", "settlement/approve", { merchantSettlementId: "s-1" }, 40001, /signature/],
        ["approve unknown", "POST", "settlement/approve", { merchantSettlementId: "nope", signature: sig }, 40407, /nope/],
        ["approve bad signature", "POST", "settlement/approve", { merchantSettlementId: "s-1", signature: sig }, 40007, /payout signer/],
        ["reject unknown", "POST", "settlement/reject", { settlementOrderId: "nope" }, 40407, /nope/],
        ["reject long reason", "POST", "settlement/reject", { merchantSettlementId: "s-1", reason: "x".repeat(300) }, 40001, /reason/],
        ["notify both references", "POST", "settlement/notify", { settlementOrderId: "a", merchantSettlementId: "b" }, 40001, /exactly one/],
        ["notify unknown", "POST", "settlement/notify", { merchantSettlementId: "nope" }, 40407, /nope/],
        ["settings with a query", "GET", "merchant/settings", { x: "1" }, 40001, /querystring/],
        ["update nothing", "POST", "merchant/settings/update", {}, 40001, /fewer than 1/],
        ["update fee", "POST", "merchant/settings/update", { feeBps: 0 }, 40001, /additional/],
        ["update signer", "POST", "merchant/settings/update", { payoutSigner: OWN }, 40001, /additional/],
        ["update key mode", "POST", "merchant/settings/update", { payoutKeyMode: "gateway" }, 40001, /additional/],
        ["update bad url", "POST", "merchant/settings/update", { rechargeNotifyUrl: "javascript:alert(1)" }, 40001, /rechargeNotifyUrl/],
        ["update empty name", "POST", "merchant/settings/update", { name: "" }, 40001, /name/],
        ["rotate with a field", "POST", "merchant/webhookSecret/rotate", { secret: "whsec_mine" }, 40001, /additional/],
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

    it("concurrency: one settlement per merchantSettlementId, distinct payout ids, one approval wins", async () => {
      const same = await Promise.all(Array.from({ length: 20 }, () => settle(A, { merchantSettlementId: "par-same", amount: "2" })));
      for (const r of same) assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(new Set(same.map((r) => r.body.data.settlementOrderId)).size, 1);
      const distinct = await Promise.all(Array.from({ length: 20 }, (_, i) => settle(C, { merchantSettlementId: `par-${i}`, amount: "1" })));
      for (const r of distinct) assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(new Set(distinct.map((r) => r.body.data.payoutId)).size, 20, "distinct payout ids");
      const [dup] = await gw.db.query(
        `SELECT count(*)::text AS n FROM (SELECT payout_id FROM refund_orders WHERE merchant_id = 3 UNION ALL
           SELECT payout_id FROM withdrawal_orders WHERE merchant_id = 3 UNION ALL SELECT payout_id FROM settlement_orders WHERE merchant_id = 3) x
         GROUP BY payout_id HAVING count(*) > 1`,
      );
      assert.equal(dup, undefined, "no payout id used twice across the kinds");
      const id = distinct[0]!.body.data.settlementOrderId;
      const approvals = await Promise.all(Array.from({ length: 8 }, () => call(gw, C, "POST", "settlement/approve", { settlementOrderId: id })));
      assert.equal(approvals.filter((r) => r.status === 200).length, 1);
      for (const r of approvals.filter((r) => r.status !== 200)) assert.equal(r.body.code, 40902);
      const [n] = await gw.db.query("SELECT count(*)::text AS n FROM outbox_events WHERE aggregate_id = $1", [id]);
      assert.equal(n!.n, "2", "created and approved: one event each");
    });

    it("logs carry neither the gateway-held key nor a rotated webhook secret", async () => {
      const lines: string[] = [];
      const stream = { write: (l: string) => void lines.push(l) };
      const app = await buildApp({ db: gw.db, config: gw.config, logger: { level: "trace", stream } as any });
      await app.listen({ host: "127.0.0.1", port: 0 });
      try {
        const local = { ...gw, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
        const s = (await call(local, C, "POST", "settlement/apply", { merchantSettlementId: "log-1", chainId: 31337, token: "ETH", amount: "1", toAddress: OWN }))
          .body.data;
        assert.equal((await call(local, C, "POST", "settlement/approve", { settlementOrderId: s.settlementOrderId })).body.data.approvedBy, "gateway");
        const secret = (await call(local, C, "POST", "merchant/webhookSecret/rotate", {})).body.data.webhookSecret;
        C = { ...C, webhookSecret: secret };
        const [m] = await gw.db.query("SELECT payout_key_enc FROM merchants WHERE id = 3");
        const key = createSecretBox(gw.config.masterKey).open(Buffer.from(m!.payout_key_enc));
        const log = lines.join("");
        assert.ok(lines.length >= 6, "the requests were logged");
        assert.ok(!log.includes(key.slice(2)), "no payout key in the logs");
        assert.ok(!log.includes(secret.slice(6)), "no webhook secret in the logs");
      } finally {
        await app.close();
      }
    });

    it("the OpenAPI document lists the new routes and error codes", async () => {
      const doc = (await (await fetch(`${gw.url}/api/openapi.json`)).json()) as any;
      for (const [path, method] of [
        ["/api/mer/settlement/apply", "post"],
        ["/api/mer/settlement/detail", "get"],
        ["/api/mer/settlement/approve", "post"],
        ["/api/mer/settlement/reject", "post"],
        ["/api/mer/settlement/notify", "post"],
        ["/api/mer/merchant/settings", "get"],
        ["/api/mer/merchant/settings/update", "post"],
        ["/api/mer/merchant/webhookSecret/rotate", "post"],
      ] as const) {
        assert.ok(doc.paths[path]?.[method], `${method} ${path}`);
      }
      const approve = doc.paths["/api/mer/refund/approve"].post.requestBody.content["application/json"].schema;
      assert.ok(!(approve.required ?? []).includes("signature"), "signature is optional (gateway mode)");
      assert.ok(doc.paths["/api/mer/settlement/detail"].get.responses["200"].content["application/json"].schema.properties.data.properties.approvedBy);
      for (const code of [40009, 40407]) assert.ok(doc["x-error-codes"][code], `error code ${code}`);
    });
  });
}

describe("createMerchant CLI with a gateway-held payout key", () => {
  const dir = mkdtempSync(join(tmpdir(), "gw-payout-cli-"));
  // the gateway's environment: its config file names the store and the key file, which its first start created
  const configFile = join(dir, "gateway.json");
  const chain = { chainId: 31337, code: "local", name: "Hardhat", vault: "0x5FbDB2315678afecb367f032d93F642f64180aa3", confirmations: 1, tokens: [{ symbol: "ETH", address: "0x0000000000000000000000000000000000000000", decimals: 18 }] };
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
    await assert.rejects(cli(["--name", "X", "--payout-key-mode", "gateway", "--signer", OWN]), /cannot be given with --payout-key-mode gateway/);
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
