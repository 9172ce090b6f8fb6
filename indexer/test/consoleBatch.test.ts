/**
 * Batch approval in the merchant console over HTTP (PGlite, no chain): `/console/approvals/batch` lists every
 * payout one signature approves (a withdrawal's every line) with the PayoutBatch typed data; the approval
 * refuses a signature that is not the payout signer's, payouts of two chains and a viewer, changing nothing,
 * and approves them all with the signer's one signature. (Apart from console.test.ts, which main reworks.)
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { recoverTypedDataAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { buildApp } from "../src/api/app.js";
import { mountConsole } from "../src/console/plugin.js";
import { resolveConfig, type GatewayConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import type { Db } from "../src/store/db.js";
import { createMerchant } from "../src/store/merchants.js";
import { upsertConsoleMember } from "../src/store/members.js";
import { openStore } from "../src/store/open.js";
import { createSettlementOrder } from "../src/store/settlementOrders.js";
import { createWithdrawal } from "../src/store/withdrawalOrders.js";
import { ConsoleClient } from "./consoleHarness.js";
import { freePort } from "./chainHarness.js";
import { typedFromWallet } from "./browserHarness.js";
import { SIGNER_KEY, USDT, VAULT } from "./helpers.js";

const ZERO = "0x0000000000000000000000000000000000000000";
const signer = privateKeyToAccount(SIGNER_KEY as Hex);
const viewer = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());
const OWN = "0x90f79bf6eb2c4f870365e785982e1f101e93b906";
const OTHER = "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65";

describe("console: several payouts approved with one batch signature (pglite)", { timeout: 120_000 }, () => {
  let db: Db;
  let app: FastifyInstance;
  let config: GatewayConfig;
  let base: string;
  const states = async () =>
    (
      await db.query(
        "SELECT id, status, batch_id FROM settlement_orders UNION ALL SELECT id, status, batch_id FROM withdrawal_orders ORDER BY id",
      )
    ).map((r) => JSON.stringify(r));

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    config = resolveConfig({
      masterKey: randomBytes(32),
      payPageUrl: `${base}/pay`,
      chains: [
        {
          chainId: 1,
          code: "ethereum",
          name: "Ethereum",
          vault: VAULT,
          confirmations: 1,
          tokens: [{ symbol: "USDT", address: USDT, decimals: 6 }],
        },
        {
          chainId: 137,
          code: "polygon",
          name: "Polygon",
          vault: VAULT,
          confirmations: 3,
          tokens: [{ symbol: "POL", address: ZERO, decimals: 18 }],
        },
      ],
    });
    db = await openStore({ pgliteDir: "memory://" });
    await createMerchant(db, createSecretBox(config.masterKey), { name: "Shop A", id: 1n, payoutSigner: signer.address });
    await upsertConsoleMember(db, { merchantId: 1n, address: viewer.address, role: "viewer", addedBy: null });
    app = await buildApp({ db, config });
    await mountConsole(app, { db, config, signinPerMinute: 60 });
    await app.listen({ host: "127.0.0.1", port });
  });
  after(async () => {
    await app?.close();
    await db?.close();
  });

  it("lists every payout of the batch, refuses a wrong signer, two chains and a viewer with nothing changed, and approves with one signature", async () => {
    const settle = (ref: string, chainId: number, token: string, amount: bigint) =>
      createSettlementOrder(db, {
        merchantId: 1n,
        outTradeNo: ref,
        requestHash: ref,
        chainId,
        tokenAddress: token,
        amount,
        toAddress: OWN,
        notifyUrl: null,
        payoutDeadlineSeconds: 3600,
      });
    // live chains (the console's default view): Ethereum and Polygon
    const s1 = (await settle("cs-1", 1, USDT, 1_500_000n)).settlement.lines[0]!;
    const pol = (await settle("cs-pol", 137, ZERO, 10n ** 17n)).settlement.lines[0]!;
    const { withdrawal } = await createWithdrawal(db, {
      merchantId: 1n,
      outTradeNo: "cw-1",
      requestHash: "cw-1",
      chainId: 1,
      tokenAddress: USDT,
      lines: [
        { toAddress: OWN, amount: 1_000_000n },
        { toAddress: OTHER, amount: 2_000_000n },
      ],
      notifyUrl: null,
      payoutDeadlineSeconds: 3600,
    });
    const w1 = withdrawal.lines[0]!;
    const c = new ConsoleClient(base);
    assert.equal((await c.signIn(signer)).status, 200);
    const csrf = await c.csrf();
    const json = (path: string, body: unknown) => c.request("POST", path, { json: body, headers: { "x-csrf-token": csrf } });
    const page = await c.request("GET", "/console/approvals");
    assert.match(page.text, /id="approve-selected"/);
    assert.match(page.text, new RegExp(`id="o-${w1.id}"[^>]*data-lines="2"`), "a withdrawal of two recipients is marked as such");

    // one row of the withdrawal brings its whole application: three payouts in all
    const items = [
      { kind: "settlement", id: s1.id },
      { kind: "withdrawal", id: w1.id },
    ];
    const prep = await json("/console/approvals/batch", { items });
    assert.equal(prep.status, 200, prep.text);
    assert.equal(prep.json.count, 3);
    assert.deepEqual(
      prep.json.payouts.map((p: any) => [p.ref, p.to.toLowerCase(), p.amount]),
      [
        ["cs-1", OWN, "1.5 USDT"],
        ["cw-1", OWN, "1 USDT"],
        ["cw-1", OTHER, "2 USDT"],
      ],
    );
    const typed = typedFromWallet(prep.json.typed);
    assert.equal(typed.primaryType, "PayoutBatch");
    assert.equal((typed.message.payouts as unknown[]).length, 3);

    const before = await states();
    const forged = await json("/console/approvals/approve", { items, signature: await stranger.signTypedData(typed) });
    assert.equal(forged.status, 400);
    assert.match(forged.json.error, new RegExp(`not from the payout signer ${signer.address}`));
    const chains = await json("/console/approvals/batch", { items: [...items, { kind: "settlement", id: pol.id }] });
    assert.equal(chains.status, 400);
    assert.match(chains.json.error, /one chain/);
    const v = new ConsoleClient(base);
    await v.signIn(viewer);
    const byViewer = await v.request("POST", "/console/approvals/approve", {
      json: { items, signature: await signer.signTypedData(typed) },
      headers: { "x-csrf-token": await v.csrf() },
    });
    assert.equal(byViewer.status, 403);
    assert.deepEqual(await states(), before, "nothing changed");

    const signature = await signer.signTypedData(typed);
    const ok = await json("/console/approvals/approve", { items, signature });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.approved.length, 3);
    assert.ok(ok.json.approved.every((a: any) => a.state === 1));
    const [batch] = await db.query("SELECT id, signature, lines FROM payout_batches");
    assert.equal(Number(batch!.lines), 3);
    assert.equal(await recoverTypedDataAddress({ ...typed, signature: batch!.signature as Hex }), signer.address);
    const lines = await db.query("SELECT batch_id FROM withdrawal_orders UNION ALL SELECT batch_id FROM settlement_orders WHERE id = $1", [
      s1.id,
    ]);
    assert.ok(lines.every((l) => l.batch_id === batch!.id));
    const again = await json("/console/approvals/approve", { items, signature });
    assert.equal(again.status, 409, "no longer pending");
  });

  it("gateway-held key: the approver approves several payouts without a wallet signature; the gateway signs the batch", async () => {
    const g = await createMerchant(db, createSecretBox(config.masterKey), { name: "Shop G", id: 3n, payoutKeyMode: "gateway" });
    const member = privateKeyToAccount(generatePrivateKey());
    await upsertConsoleMember(db, { merchantId: 3n, address: member.address, role: "approver", addedBy: null });
    const lines = [];
    for (const ref of ["gs-1", "gs-2"]) {
      const { settlement } = await createSettlementOrder(db, {
        merchantId: 3n,
        outTradeNo: ref,
        requestHash: ref,
        chainId: 137,
        tokenAddress: ZERO,
        amount: 10n ** 16n,
        toAddress: OWN,
        notifyUrl: null,
        payoutDeadlineSeconds: 3600,
      });
      lines.push(settlement.lines[0]!);
    }
    const c = new ConsoleClient(base);
    assert.equal((await c.signIn(member)).status, 200);
    const csrf = await c.csrf();
    const items = lines.map((l) => ({ kind: "settlement", id: l.id }));
    const prep = await c.request("POST", "/console/approvals/batch", { json: { items }, headers: { "x-csrf-token": csrf } });
    const typed = typedFromWallet(prep.json.typed);
    const withSig = await c.request("POST", "/console/approvals/approve", {
      json: { items, signature: `0x${"ab".repeat(65)}` },
      headers: { "x-csrf-token": csrf },
    });
    assert.equal(withSig.status, 400);
    assert.match(withSig.json.error, /without a wallet signature/);
    const ok = await c.request("POST", "/console/approvals/approve", { json: { items }, headers: { "x-csrf-token": csrf } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.approved.length, 2);
    const [batch] = await db.query("SELECT signature, approved_by FROM payout_batches WHERE merchant_id = 3");
    assert.equal(batch!.approved_by, "gateway");
    assert.equal(
      (await recoverTypedDataAddress({ ...typed, signature: batch!.signature as Hex })).toLowerCase(),
      g.payoutSigner!.toLowerCase(),
    );
  });
});
