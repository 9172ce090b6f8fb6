/**
 * The merchant console over real HTTP (PGlite, no chain): sign-in with Ethereum and what it refuses
 * (forged, replayed, expired, other site, other browser), sessions and CSRF, roles, merchant isolation,
 * approvals and rejections, refunds, settings writes, the sandbox view and the CSV export. The browser
 * test (console.browser.test.ts) drives the same pages in chromium against a hardhat node.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { hashTypedData, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { buildApp } from "../src/api/app.js";
import { approvalTypedData } from "../src/console/approve.js";
import { createConsoleContext } from "../src/console/context.js";
import { mountConsole } from "../src/console/plugin.js";
import { resolveConfig, type GatewayConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import type { Db } from "../src/store/db.js";
import { createMerchant, type CreatedMerchant } from "../src/store/merchants.js";
import { upsertConsoleMember } from "../src/store/members.js";
import { purgeNonces, rememberSignature } from "../src/store/nonces.js";
import { openStore } from "../src/store/open.js";
import { getUnderpaymentTolerance } from "../src/store/quotes.js";
import { getPayoutApplication, type PayoutOrderKind, type PayoutOrderRecord } from "../src/store/payoutOrders.js";
import { createSettlementOrder } from "../src/store/settlementOrders.js";
import { ConsoleClient, paidPayment } from "./consoleHarness.js";
import { freePort } from "./chainHarness.js";
import { PG_URL, postgresReachable, SIGNER_KEY, USDT, VAULT } from "./helpers.js";

const ZERO = "0x0000000000000000000000000000000000000000";
const signer = privateKeyToAccount(SIGNER_KEY as Hex);
const viewer = privateKeyToAccount(generatePrivateKey());
const approver = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());
const signerB = privateKeyToAccount(generatePrivateKey());

/**
 * A payout of the merchant by its row id (the id the console's pages and URLs carry), read through the
 * store's application of that payout (so another merchant's payout is not found).
 */
async function getPayoutOrder(db: Db, kind: PayoutOrderKind, merchantId: bigint, ref: { id: string }): Promise<PayoutOrderRecord> {
  const [table, noColumn] = (
    {
      refund: ["refund_orders", "refund_no"],
      withdrawal: ["withdrawal_orders", "withdraw_id"],
      settlement: ["settlement_orders", "settlement_no"],
    } as const
  )[kind];
  const [row] = await db.query(`SELECT ${noColumn}::text AS no FROM ${table} WHERE id = $1`, [ref.id]);
  assert.ok(row, `no ${kind} payout ${ref.id}`);
  const app = await getPayoutApplication(db, kind, merchantId, { no: BigInt(row.no) });
  const line = app.lines.find((l) => l.id === ref.id);
  assert.ok(line, `${kind} application ${app.no} has no line ${ref.id}`);
  return line;
}

const pg = await postgresReachable();
if (!pg) console.log(`# NOTICE: PostgreSQL not reachable at ${PG_URL}: the console's server tests were skipped (PGlite ran)`);

for (const backend of pg ? (["pglite", "postgres"] as const) : (["pglite"] as const))
  describe(`merchant console over HTTP (${backend})`, { timeout: 120_000 }, () => {
    let db: Db;
    let app: FastifyInstance;
    let config: GatewayConfig;
    let base: string;
    let a: CreatedMerchant;
    let b: CreatedMerchant;
    let schema: string;
    const client = () => new ConsoleClient(base);

    before(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      config = resolveConfig({
        masterKey: randomBytes(32),
        payPageUrl: `${base}/pay`,
        chains: [
          // 31337 is a test chain (sandbox); 137 a live one
          {
            chainId: 31337,
            code: "local",
            name: "Hardhat",
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
      schema = `console_test_${Date.now()}_${randomBytes(3).toString("hex")}`;
      db =
        backend === "pglite" ? await openStore({ pgliteDir: "memory://" }) : await openStore({ databaseUrl: PG_URL, schema, poolSize: 10 });
      const box = createSecretBox(config.masterKey);
      a = await createMerchant(db, box, { name: "Shop A", id: 1n, payoutSigner: signer.address });
      b = await createMerchant(db, box, { name: "Shop B", id: 2n, payoutSigner: signerB.address });
      await upsertConsoleMember(db, { merchantId: 1n, address: viewer.address, role: "viewer", addedBy: null });
      await upsertConsoleMember(db, { merchantId: 1n, address: approver.address, role: "approver", addedBy: null });
      app = await buildApp({ db, config });
      await mountConsole(app, { db, config, signinPerMinute: 60 });
      await app.listen({ host: "127.0.0.1", port });
    });

    after(async () => {
      await app?.close();
      if (backend === "postgres") await db?.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
      await db?.close();
    });

    it("sends a visitor without a session to sign in, under the payment page's CSP and with strict cookies", async () => {
      const c = client();
      const root = await c.request("GET", "/console/overview");
      assert.equal(root.status, 303);
      assert.equal(root.location, "/console/signin");
      const page = await c.request("GET", "/console/signin");
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-security-policy")!, /default-src 'none'; script-src 'self'/);
      assert.equal(page.headers.get("x-frame-options"), "DENY");
      const browser = c.setCookies.find((x) => x.startsWith("console_browser="))!;
      assert.match(browser, /HttpOnly/i);
      assert.match(browser, /Secure/i);
      assert.match(browser, /SameSite=Strict/i);
      assert.match(browser, /Path=\/console/);
    });

    it("signs the payout signer in with a SIWE message and sets an HttpOnly, Secure, SameSite=Strict session cookie", async () => {
      const c = client();
      const { message, token } = await c.nonce(signer.address, 31337);
      assert.match(
        message,
        new RegExp(`^http://127\\.0\\.0\\.1:\\d+ wants you to sign in with your Ethereum account:\\n${signer.address}\\n`),
      );
      assert.match(message, /\nURI: http:\/\/127\.0\.0\.1:\d+\/console\n/);
      assert.match(message, /\nChain ID: 31337\n/);
      assert.match(message, /\nExpiration Time: /);
      const res = await c.verify(message, await signer.signMessage({ message }), token);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.redirect, "/console/overview");
      const session = c.setCookies.find((x) => x.startsWith("console_session="))!;
      for (const flag of [/HttpOnly/i, /Secure/i, /SameSite=Strict/i, /Path=\/console/]) assert.match(session, flag);
      const overview = await c.request("GET", "/console/overview");
      assert.equal(overview.status, 200);
      assert.match(overview.text, /Shop A/);
      assert.match(overview.text, /Admin/, "the payout signer is an admin");
    });

    it("refuses a replayed, forged, expired or foreign SIWE message", async () => {
      const c = client();
      const { message, token } = await c.nonce(signer.address, 31337);
      const signature = await signer.signMessage({ message });
      assert.equal((await c.verify(message, signature, token)).status, 200);
      // the same message and signature again: the nonce is spent
      const replay = await c.verify(message, signature, token);
      assert.equal(replay.status, 401);
      assert.match(replay.json.error, /already used/);

      // a stranger signs a message that names the signer's address
      const f = client();
      const forged = await f.nonce(signer.address, 31337);
      const res = await f.verify(forged.message, await stranger.signMessage({ message: forged.message }), forged.token);
      assert.equal(res.status, 401);
      assert.match(res.json.error, /not from the address/);

      // a message edited after it was issued (another site, another URI, a longer life) fails on its fields
      for (const [edit, why] of [
        [(m: string) => m.replace(/^http:\/\/127\.0\.0\.1:\d+/, "https://evil.example"), /another site/],
        [(m: string) => m.replace(/URI: [^\n]+/, "URI: https://evil.example/console"), /another console address/],
        [
          (m: string) => m.replace(/Expiration Time: [^\n]+/, `Expiration Time: ${new Date(Date.now() + 86_400_000).toISOString()}`),
          /expired/,
        ],
        [(m: string) => m.replace(/Chain ID: \d+/, "Chain ID: 1"), /chain this gateway does not know/],
      ] as const) {
        const x = client();
        const n = await x.nonce(signer.address, 31337);
        const edited = edit(n.message);
        assert.notEqual(edited, n.message);
        const r = await x.verify(edited, await signer.signMessage({ message: edited }), n.token);
        assert.equal(r.status, 401, edited);
        assert.match(r.json.error, why);
      }

      // an expired message (issued 11 minutes ago with the console's 10-minute life)
      const old = client();
      const n = await old.nonce(signer.address, 31337);
      const issued = new Date(Date.now() - 11 * 60_000);
      const stale = n.message
        .replace(/Issued At: [^\n]+/, `Issued At: ${issued.toISOString()}`)
        .replace(/Expiration Time: [^\n]+/, `Expiration Time: ${new Date(issued.getTime() + 10 * 60_000).toISOString()}`);
      const r = await old.verify(stale, await signer.signMessage({ message: stale }), n.token);
      assert.equal(r.status, 401);
      assert.match(r.json.error, /expired/);

      // a nonce issued to one browser cannot be used from another
      const first = client();
      const other = client();
      const issuedTo = await first.nonce(signer.address, 31337);
      const otherToken = await other.signinToken();
      const cross = await other.verify(issuedTo.message, await signer.signMessage({ message: issuedTo.message }), otherToken);
      assert.equal(cross.status, 401);
      assert.equal(other.cookies.has("console_session"), false);

      // an address with no role anywhere signs correctly and is still refused
      const s = client();
      const denied = await s.signIn(stranger);
      assert.equal(denied.status, 403);
      assert.match(denied.json.error, /may not open any merchant's console/);
    });

    it("refuses the sign-in posts without the page's token or from another origin", async () => {
      const c = client();
      const token = await c.signinToken();
      const noToken = await c.request("POST", "/console/signin/nonce", { json: { address: signer.address, chainId: 31337 } });
      assert.equal(noToken.status, 403);
      const foreign = await c.request("POST", "/console/signin/nonce", {
        json: { address: signer.address, chainId: 31337 },
        headers: { "x-csrf-token": token, origin: "https://evil.example" },
      });
      assert.equal(foreign.status, 403);
    });

    it("a write without the session's CSRF token, or from another origin, is refused and changes nothing", async () => {
      const c = client();
      await c.signIn(signer);
      const before = await db.query("SELECT count(*)::int AS n FROM merchant_api_keys WHERE merchant_id = 1");
      const noToken = await c.request("POST", "/console/settings/api-keys", { form: { label: "sneaky" } });
      assert.equal(noToken.status, 403);
      assert.match(noToken.text, /form is out of date/);
      const wrong = await c.request("POST", "/console/settings/api-keys", { form: { label: "sneaky", _csrf: "x".repeat(43) } });
      assert.equal(wrong.status, 403);
      const foreign = await c.request("POST", "/console/settings/api-keys", {
        form: { label: "sneaky", _csrf: await c.csrf() },
        headers: { origin: "https://evil.example" },
      });
      assert.equal(foreign.status, 403);
      const after = await db.query("SELECT count(*)::int AS n FROM merchant_api_keys WHERE merchant_id = 1");
      assert.deepEqual(after, before);
    });

    it("another merchant's order answers 404, in the list too", async () => {
      const theirs = await paidPayment(db, {
        merchantId: 2n,
        ref: "b-secret",
        chainId: 137,
        vault: VAULT,
        token: ZERO,
        symbol: "POL",
        decimals: 18,
        amount: 10n ** 18n,
      });
      const c = client();
      await c.signIn(signer);
      const res = await c.request("GET", `/console/orders/payment/${theirs.id}`);
      assert.equal(res.status, 404);
      assert.doesNotMatch(res.text, /b-secret/);
      const list = await c.request("GET", "/console/orders?kind=payment&q=b-secret");
      assert.match(list.text, /No orders match/);
      // B's signer sees it
      const cb = client();
      await cb.signIn(signerB);
      assert.equal((await cb.request("GET", `/console/orders/payment/${theirs.id}`)).status, 200);
    });

    it("shows live chains by default and test chains in the sandbox", async () => {
      const live = await paidPayment(db, {
        merchantId: 1n,
        ref: "live-1",
        chainId: 137,
        vault: VAULT,
        token: ZERO,
        symbol: "POL",
        decimals: 18,
        amount: 2n * 10n ** 18n,
      });
      const test = await paidPayment(db, {
        merchantId: 1n,
        ref: "test-1",
        chainId: 31337,
        vault: VAULT,
        token: USDT,
        symbol: "USDT",
        decimals: 6,
        amount: 5_000_000n,
      });
      const c = client();
      await c.signIn(signer);
      let list = await c.request("GET", "/console/orders?kind=payment");
      assert.match(list.text, /live-1/);
      assert.doesNotMatch(list.text, /test-1/);
      assert.equal(
        (await c.request("GET", `/console/orders/payment/${test.id}`)).status,
        404,
        "a test-chain order is not in the live view",
      );
      const on = await c.post("/console/settings/sandbox", { sandbox: "1" });
      assert.equal(on.status, 303);
      list = await c.request("GET", "/console/orders?kind=payment");
      assert.match(list.text, /test-1/);
      assert.doesNotMatch(list.text, /live-1/);
      assert.match(list.text, /Sandbox: you are looking at test chains only/);
      assert.equal((await c.request("GET", `/console/orders/payment/${live.id}`)).status, 404);
    });

    it("filters, searches, pages and exports orders as CSV", async () => {
      for (let i = 0; i < 3; i++) {
        await paidPayment(db, {
          merchantId: 1n,
          ref: `csv-${i}`,
          chainId: 137,
          vault: VAULT,
          token: ZERO,
          symbol: "POL",
          decimals: 18,
          amount: BigInt(i + 1) * 10n ** 17n,
        });
      }
      const c = client();
      await c.signIn(signer);
      const found = await c.request("GET", "/console/orders?kind=payment&q=csv-&state=4");
      for (let i = 0; i < 3; i++) assert.match(found.text, new RegExp(`csv-${i}`));
      const exact = await c.request("GET", "/console/orders?kind=payment&ref=csv-1");
      assert.match(exact.text, /csv-1/);
      assert.doesNotMatch(exact.text, /csv-2/);
      const none = await c.request("GET", "/console/orders?kind=payment&q=csv-&state=0");
      assert.match(none.text, /No orders match/);
      const bad = await c.request("GET", "/console/orders?kind=payment&tx=0x12");
      assert.match(bad.text, /transaction hash was ignored/);
      const csv = await c.request("GET", "/console/orders.csv?kind=payment&q=csv-");
      assert.equal(csv.status, 200);
      assert.match(csv.headers.get("content-type")!, /text\/csv/);
      assert.match(csv.headers.get("content-disposition")!, /attachment; filename="payment-orders-1-/);
      const lines = csv.text.trim().split("\r\n");
      assert.equal(
        lines[0],
        "kind,id,merchantRef,state,stateName,chainId,token,tokenSymbol,amount,amountBaseUnits,paidBaseUnits,counterparty,txHash,createdAt",
      );
      assert.equal(lines.length, 4);
      assert.ok(
        lines.some((l) => /^payment,[0-9A-Z]{26},csv-2,4,Paid,137,0x0{40},POL,0\.3,300000000000000000,/.test(l)),
        lines.join("\n"),
      );
    });

    it("a partial refund from a payment, approved with the signer's EIP-712 signature; a wrong signer refused; another rejected", async () => {
      const pay = await paidPayment(db, {
        merchantId: 1n,
        ref: "refund-me",
        chainId: 137,
        vault: VAULT,
        token: ZERO,
        symbol: "POL",
        decimals: 18,
        amount: 3n * 10n ** 18n,
        payer: stranger.address,
      });
      const c = client();
      await c.signIn(signer);
      const detail = await c.request("GET", `/console/orders/payment/${pay.id}`);
      const ref = /name="ref" value="([^"]+)"/.exec(detail.text)![1]!;
      const tooMuch = await c.post(`/console/orders/payment/${pay.id}/refund`, { amount: "3.5", toAddress: "", reason: "", ref });
      assert.equal(tooMuch.status, 400);
      assert.match(tooMuch.text, /more than can be refunded/);
      const made = await c.post(`/console/orders/payment/${pay.id}/refund`, { amount: "1.25", toAddress: "", reason: "broken cup", ref });
      assert.equal(made.status, 303, made.text);
      const refundId = /\/console\/orders\/refund\/([^?]+)/.exec(made.location!)![1]!;
      // a double submit of the same form finds the same refund
      const again = await c.post(`/console/orders/payment/${pay.id}/refund`, { amount: "1.25", toAddress: "", reason: "broken cup", ref });
      assert.equal(again.location, made.location);
      const refund = await getPayoutOrder(db, "refund", 1n, { id: refundId });
      assert.equal(refund.amount, 1_250_000_000_000_000_000n);
      assert.equal(refund.toAddress, stranger.address.toLowerCase(), "refunds go to the payer by default");
      assert.equal(refund.status, 0);

      const queue = await c.request("GET", "/console/approvals");
      assert.match(queue.text, new RegExp(`id="o-${refundId}"`));
      assert.match(queue.text, new RegExp(`<code id="signer">${signer.address}</code>`), "the page names who must sign");
      const typed = approvalTypedData(createConsoleContext({ db, config }), refund);
      const csrf = await c.csrf();
      const wrong = await c.request("POST", "/console/approvals/approve", {
        json: { items: [{ kind: "refund", id: refundId }], signature: await stranger.signTypedData(typed) },
        headers: { "x-csrf-token": csrf },
      });
      assert.equal(wrong.status, 400);
      assert.match(wrong.json.error, /not from the payout signer/);
      assert.equal((await getPayoutOrder(db, "refund", 1n, { id: refundId })).status, 0);

      // the approver member approves with the signer's signature (the role gates the click; the signature gates the money)
      const ap = client();
      await ap.signIn(approver);
      const signature = await signer.signTypedData(typed);
      const ok = await ap.request("POST", "/console/approvals/approve", {
        json: { items: [{ kind: "refund", id: refundId }], signature },
        headers: { "x-csrf-token": await ap.csrf() },
      });
      assert.equal(ok.status, 200, ok.text);
      const approved = await getPayoutOrder(db, "refund", 1n, { id: refundId });
      assert.equal(approved.status, 1);
      assert.equal(approved.payoutSignature, signature);
      assert.equal(approved.approvedBy, "merchant");
      assert.equal(hashTypedData(typed), hashTypedData(approvalTypedData(createConsoleContext({ db, config }), approved)));

      // two payouts in one request go under one batch signature (consoleBatch.browser.test.ts); an approved one is refused
      const batch = await ap.request("POST", "/console/approvals/approve", {
        json: {
          items: [
            { kind: "refund", id: refundId },
            { kind: "refund", id: refundId },
          ],
          signature,
        },
        headers: { "x-csrf-token": await ap.csrf() },
      });
      assert.equal(batch.status, 409);
      assert.match(batch.json.error, /no longer awaiting approval/);

      // reject a second refund with a reason: the amount is refundable again
      const d2 = await c.request("GET", `/console/orders/payment/${pay.id}`);
      const ref2 = /name="ref" value="([^"]+)"/.exec(d2.text)![1]!;
      const second = await c.post(`/console/orders/payment/${pay.id}/refund`, {
        amount: "0.5",
        toAddress: approver.address,
        reason: "",
        ref: ref2,
      });
      const secondId = /\/console\/orders\/refund\/([^?]+)/.exec(second.location!)![1]!;
      const noReason = await ap.post(`/console/approvals/refund/${secondId}/reject`, { reason: " " });
      assert.equal(noReason.status, 400);
      const rejected = await ap.post(`/console/approvals/refund/${secondId}/reject`, { reason: "customer kept it" });
      assert.equal(rejected.status, 303);
      const r2 = await getPayoutOrder(db, "refund", 1n, { id: secondId });
      assert.equal(r2.status, -1);
      assert.equal(r2.reason, "customer kept it");
      const [p] = await db.query("SELECT refunded_amount FROM payment_orders WHERE id = $1", [pay.id]);
      assert.equal(BigInt(p!.refunded_amount), 1_250_000_000_000_000_000n, "only the approved refund stays reserved");
    });

    it("a settlement awaits approval with the others, shows in its own list and is approved with a Payout of kind 2", async () => {
      const { settlement: application } = await createSettlementOrder(db, {
        merchantId: 1n,
        outTradeNo: "settle-1",
        requestHash: "settle-1",
        chainId: 137,
        tokenAddress: ZERO,
        amount: 7n * 10n ** 17n,
        toAddress: signer.address,
        notifyUrl: null,
        payoutDeadlineSeconds: 3600,
      });
      // a settlement is an application of one payout (one line); the console lists and approves that payout
      assert.equal(application.lines.length, 1);
      const settlement = application.lines[0]!;
      assert.equal(settlement.merchantRef, "settle-1");
      const c = client();
      await c.signIn(signer);
      const list = await c.request("GET", "/console/orders?kind=settlement&state=0");
      assert.match(list.text, /settle-1/);
      assert.match(list.text, /0\.7 POL/);
      const queue = await c.request("GET", "/console/approvals");
      assert.match(queue.text, new RegExp(`id="o-${settlement.id}" data-kind="settlement"`));
      const typed = approvalTypedData(createConsoleContext({ db, config }), settlement);
      assert.equal(typed.message.kind, 2);
      const ok = await c.request("POST", "/console/approvals/approve", {
        json: { items: [{ kind: "settlement", id: settlement.id }], signature: await signer.signTypedData(typed) },
        headers: { "x-csrf-token": await c.csrf() },
      });
      assert.equal(ok.status, 200, ok.text);
      assert.equal((await getPayoutOrder(db, "settlement", 1n, { id: settlement.id })).status, 1);
      const detail = await c.request("GET", `/console/orders/settlement/${settlement.id}`);
      assert.match(detail.text, /Approved/);
      assert.match(detail.text, /settlement\.status_changed/);
    });

    it("a merchant whose payout key the gateway holds: its admin approves without a wallet signature, the gateway signs", async () => {
      const box = createSecretBox(config.masterKey);
      const g = await createMerchant(db, box, { name: "Shop G", id: 3n, payoutKeyMode: "gateway" });
      const admin = privateKeyToAccount(generatePrivateKey());
      await upsertConsoleMember(db, { merchantId: 3n, address: admin.address, role: "admin", addedBy: null });
      const pay = await paidPayment(db, {
        merchantId: 3n,
        ref: "g-1",
        chainId: 137,
        vault: VAULT,
        token: ZERO,
        symbol: "POL",
        decimals: 18,
        amount: 10n ** 18n,
        payer: stranger.address,
      });
      const c = client();
      assert.equal((await c.signIn(admin)).status, 200);
      const detail = await c.request("GET", `/console/orders/payment/${pay.id}`);
      const ref = /name="ref" value="([^"]+)"/.exec(detail.text)![1]!;
      const made = await c.post(`/console/orders/payment/${pay.id}/refund`, { amount: "1", toAddress: "", reason: "", ref });
      const refundId = /\/console\/orders\/refund\/([^?]+)/.exec(made.location!)![1]!;
      const queue = await c.request("GET", "/console/approvals");
      assert.match(queue.text, /The gateway holds this merchant(&#39;|')s payout key/);
      const withSignature = await c.request("POST", "/console/approvals/approve", {
        json: { items: [{ kind: "refund", id: refundId }], signature: `0x${"11".repeat(65)}` },
        headers: { "x-csrf-token": await c.csrf() },
      });
      assert.equal(withSignature.status, 400);
      const ok = await c.post("/console/approvals/approve", { kind: "refund", id: refundId });
      assert.equal(ok.status, 303, ok.text);
      const approved = await getPayoutOrder(db, "refund", 3n, { id: refundId });
      assert.equal(approved.status, 1);
      assert.equal(approved.approvedBy, "gateway");
      const typed = approvalTypedData(createConsoleContext({ db, config }), approved);
      const { recoverTypedDataAddress } = await import("viem");
      assert.equal(
        (await recoverTypedDataAddress({ ...typed, signature: approved.payoutSignature as Hex })).toLowerCase(),
        g.payoutSigner!.toLowerCase(),
      );
    });

    it("a viewer reads but is refused every write that needs a higher role", async () => {
      const pay = await paidPayment(db, {
        merchantId: 1n,
        ref: "viewer-case",
        chainId: 137,
        vault: VAULT,
        token: ZERO,
        symbol: "POL",
        decimals: 18,
        amount: 10n ** 18n,
        payer: stranger.address,
      });
      const c = client();
      assert.equal((await c.signIn(viewer)).status, 200);
      const detail = await c.request("GET", `/console/orders/payment/${pay.id}`);
      assert.equal(detail.status, 200);
      assert.doesNotMatch(detail.text, /id="refund-form"/, "no refund form for a viewer");
      assert.equal((await c.post(`/console/orders/payment/${pay.id}/resend`)).status, 403);
      const approve = await c.request("POST", "/console/approvals/approve", {
        json: { items: [{ kind: "refund", id: "x" }], signature: "0x00" },
        headers: { "x-csrf-token": await c.csrf() },
      });
      assert.equal(approve.status, 403);
      assert.match(approve.json.error, /needs approver or higher/);
      assert.equal((await c.post("/console/settings/api-keys", { label: "no" })).status, 403);
      assert.equal((await c.post("/console/settings/members", { address: stranger.address, role: "admin" })).status, 403);
    });

    it("API keys: created with a label and the secret shown once, last use recorded, revoked", async () => {
      const c = client();
      await c.signIn(signer);
      const made = await c.post("/console/settings/api-keys", { label: "checkout server" });
      assert.equal(made.status, 200);
      const key = /<code id="new-api-key">([^<]+)<\/code>/.exec(made.text)![1]!;
      const secret = /<code id="new-api-secret">([^<]+)<\/code>/.exec(made.text)![1]!;
      assert.match(key, /^pk_[0-9a-f]{24}$/);
      assert.match(secret, /^sk_[0-9a-f]{64}$/);
      const settings = await c.request("GET", "/console/settings");
      assert.match(settings.text, new RegExp(`${key}</code></td><td>checkout server`));
      assert.doesNotMatch(settings.text, new RegExp(secret), "the secret is never shown again");
      // a signed request records a nonce; when the API purges it, the key's last use is kept
      assert.equal(await rememberSignature(db, key, "n-1"), true);
      await db.query("UPDATE api_nonces SET seen_at = now() - interval '1 hour' WHERE key_id = $1", [key]);
      assert.equal(await purgeNonces(db, 5 * 60_000), 1);
      const [row] = await db.query(
        "SELECT last_used_at, (last_used_at < now() - interval '59 minutes') AS old FROM merchant_api_keys WHERE key_id = $1",
        [key],
      );
      assert.ok(row!.last_used_at && row!.old, "last_used_at is the purged nonce's time");
      const revoked = await c.post(`/console/settings/api-keys/${key}/revoke`);
      assert.equal(revoked.status, 303);
      const [after] = await db.query("SELECT active FROM merchant_api_keys WHERE key_id = $1", [key]);
      assert.equal(after!.active, false);
      assert.equal((await c.post(`/console/settings/api-keys/${a.apiKey.replace("pk_", "pk_0")}/revoke`)).status, 404);
      // another merchant's key cannot be revoked from here
      assert.equal((await c.post(`/console/settings/api-keys/${b.apiKey}/revoke`)).status, 404);
      const [bKey] = await db.query("SELECT active FROM merchant_api_keys WHERE key_id = $1", [b.apiKey]);
      assert.equal(bKey!.active, true);
    });

    it("members: an admin adds and removes; a removed member is out at its next request", async () => {
      const newcomer = privateKeyToAccount(generatePrivateKey());
      const admin = client();
      await admin.signIn(signer);
      const bad = await admin.post("/console/settings/members", { address: "0x123", role: "viewer" });
      assert.equal(bad.status, 400);
      assert.equal(
        (await admin.post("/console/settings/members", { address: newcomer.address, role: "operator", label: "Ops" })).status,
        303,
      );
      const m = client();
      assert.equal((await m.signIn(newcomer)).status, 200);
      assert.equal((await m.request("GET", "/console/overview")).status, 200);
      assert.equal((await admin.post(`/console/settings/members/${newcomer.address.toLowerCase()}/remove`)).status, 303);
      const gone = await m.request("GET", "/console/overview");
      assert.equal(gone.status, 303);
      assert.equal(gone.location, "/console/signin");
    });

    it("webhook secret rotation shows the new secret once; a private callback URL is refused", async () => {
      const c = client();
      await c.signIn(signer);
      const rotated = await c.post("/console/settings/webhook-secret");
      const secret = /<code id="new-webhook-secret">([^<]+)<\/code>/.exec(rotated.text)![1]!;
      assert.match(secret, /^whsec_/);
      const settings = await c.request("GET", "/console/settings");
      assert.match(settings.text, new RegExp(`whsec_…${secret.slice(-4).replace(/[+/]/g, "\\$&")}`));
      const refused = await c.post("/console/settings/callbacks", { rechargeNotifyUrl: "http://127.0.0.1:9/hook" });
      assert.equal(refused.status, 400);
      assert.match(refused.text, /will not call this address/);
      assert.equal((await c.post("/console/settings/callbacks", { rechargeNotifyUrl: "https://shop.example.test/recharge" })).status, 303);
      const [m] = await db.query("SELECT recharge_notify_url FROM merchants WHERE id = 1");
      assert.equal(m!.recharge_notify_url, "https://shop.example.test/recharge");
    });

    it("underpayment tolerance: shown as a percentage, set by an admin, bad input refused with nothing changed, a viewer refused", async () => {
      const bpsNow = async () => getUnderpaymentTolerance(db, 1n);
      const order = (ref: string) =>
        paidPayment(db, { merchantId: 1n, ref, chainId: 137, vault: VAULT, token: ZERO, symbol: "POL", decimals: 18, amount: 10n ** 18n });
      const orderBps = async (id: string) =>
        Number((await db.query("SELECT underpayment_tolerance_bps AS bps FROM payment_orders WHERE id = $1", [id]))[0]!.bps);
      const c = client();
      await c.signIn(signer);
      const shown = await c.request("GET", "/console/settings");
      assert.match(shown.text, /<p id="tolerance-current">Now: 0% \(0 basis points\)\.<\/p>/);
      assert.match(shown.text, /within this share of its amount counts as paid; each order keeps the value in force when it was created/);
      assert.match(shown.text, /<input id="tolerance-percent" name="tolerancePercent"[^>]* value="0">/);
      const before = await order("tolerance-before");

      const saved = await c.post("/console/settings/tolerance", { tolerancePercent: "0.5" });
      assert.equal(saved.status, 303);
      assert.equal(saved.location, "/console/settings?done=toleranceSaved#tolerance");
      assert.equal(await bpsNow(), 50, "the same column the API's merchant/settings reads");
      const after = await c.request("GET", "/console/settings?done=toleranceSaved");
      assert.match(after.text, /Underpayment tolerance saved/);
      assert.match(after.text, /Now: 0\.5% \(50 basis points\)/);
      assert.equal(await orderBps(before.id), 0, "an order keeps the tolerance of its creation");
      assert.equal(await orderBps((await order("tolerance-after")).id), 50, "a new order takes the new value");

      // the API's bounds (0..1000 bps): 10% is the most, at most two decimals
      for (const bad of ["10.01", "11", "-1", "0.555", "abc", "", "1e1", "0x1"]) {
        const refused = await c.post("/console/settings/tolerance", { tolerancePercent: bad });
        assert.equal(refused.status, 400, bad);
        assert.match(
          refused.text,
          /id="error-tolerance">Write a percentage from 0 to 10 with at most two digits after the dot, such as 0\.5 or 2; nothing was changed\./,
          bad,
        );
        assert.match(refused.text, /aria-invalid="true"/);
        assert.equal(await bpsNow(), 50, `${JSON.stringify(bad)} changed nothing`);
      }
      assert.equal((await c.post("/console/settings/tolerance", { tolerancePercent: " 10 % " })).status, 303);
      assert.equal(await bpsNow(), 1000);

      // without the CSRF token: refused, nothing changed
      assert.equal((await c.request("POST", "/console/settings/tolerance", { form: { tolerancePercent: "1" } })).status, 403);
      assert.equal(await bpsNow(), 1000);

      // a viewer reads it but has no form and is refused the write
      const v = client();
      await v.signIn(viewer);
      const read = await v.request("GET", "/console/settings");
      assert.match(read.text, /Now: 10% \(1000 basis points\)/);
      assert.doesNotMatch(read.text, /id="tolerance-percent"/);
      assert.match(read.text, /Only an admin can change it\./);
      const denied = await v.post("/console/settings/tolerance", { tolerancePercent: "1" });
      assert.equal(denied.status, 403);
      assert.equal(await bpsNow(), 1000);

      const zh = await c.request("GET", "/console/settings?lang=zh-CN");
      assert.match(zh.text, /少付容差/);
      assert.match(zh.text, /当前：10%（1000 个基点）/);
      await c.request("GET", "/console/settings?lang=en");
      assert.equal((await c.post("/console/settings/tolerance", { tolerancePercent: "0" })).status, 303);
      assert.equal(await bpsNow(), 0);
    });

    it("static QR codes: created, printed, disabled (the pay link then answers 404)", async () => {
      const c = client();
      await c.signIn(signer);
      await c.post("/console/settings/sandbox", { sandbox: "1" });
      const made = await c.post("/console/settings/qr", {
        label: "Till 1",
        coin: `31337:${USDT.toLowerCase()}`,
        notifyUrl: "https://shop.example.test/qr",
        maxAmount: "50",
      });
      assert.equal(made.status, 303, made.text);
      const settings = await c.request("GET", "/console/settings");
      const code = /\/console\/settings\/qr\/([A-Za-z0-9_-]{22})\/print/.exec(settings.text)![1]!;
      const print = await c.request("GET", `/console/settings/qr/${code}/print`);
      assert.match(print.text, /<svg/);
      assert.match(print.text, new RegExp(`/pay/m/${code}`));
      assert.equal((await fetch(`${base}/pay/m/${code}`)).status, 200);
      assert.equal((await c.post(`/console/settings/qr/${code}/disable`)).status, 303);
      assert.equal((await fetch(`${base}/pay/m/${code}`)).status, 404, "a disabled code's link is dead");
      const reuse = await c.post("/console/settings/qr", {
        label: "Till 1",
        coin: `31337:${USDT.toLowerCase()}`,
        notifyUrl: "https://shop.example.test/qr",
        maxAmount: "50",
      });
      assert.equal(reuse.status, 400);
    });

    it("downloads the statement as CSV", async () => {
      const c = client();
      await c.signIn(signer);
      const today = new Date().toISOString().slice(0, 10);
      const res = await c.request("GET", `/console/settings/statement?from=${today}&to=${today}&format=csv`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-disposition")!, /statement-1-/);
      assert.match(res.text, /^kind,id,merchantRef/);
      assert.match(res.text, /refund-me/);
      const bad = await c.request("GET", "/console/settings/statement?from=2026-02-01&to=2025-01-01&format=csv");
      assert.equal(bad.status, 400);
    });

    it("renders every page in Simplified Chinese when asked", async () => {
      const c = client();
      await c.signIn(signer);
      const page = await c.request("GET", "/console/overview?lang=zh-CN");
      assert.match(page.text, /<html lang="zh-CN">/);
      assert.match(page.text, /商户控制台/);
      const next = await c.request("GET", "/console/orders");
      assert.match(next.text, /<html lang="zh-CN">/, "the choice is kept in a cookie");
    });

    it("sign out everywhere ends every session of the address", async () => {
      const one = client();
      const two = client();
      await one.signIn(approver);
      await two.signIn(approver);
      assert.equal((await two.request("GET", "/console/overview")).status, 200);
      const out = await one.post("/console/signout-everywhere");
      assert.equal(out.status, 303);
      assert.equal((await two.request("GET", "/console/overview")).status, 303);
      assert.equal((await one.request("GET", "/console/overview")).status, 303);
    });

    it("rate-limits sign-in attempts per client", async () => {
      const c = client();
      const token = await c.signinToken();
      let limited = 0;
      for (let i = 0; i < 70 && !limited; i++) {
        const r = await c.request("POST", "/console/signin/nonce", {
          json: { address: signer.address, chainId: 31337 },
          headers: { "x-csrf-token": token },
        });
        if (r.status === 429) limited++;
      }
      assert.ok(limited > 0, "more than 60 attempts within a minute are refused");
    });
  });
