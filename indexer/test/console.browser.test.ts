/**
 * The merchant console in a real browser: Debian's chromium driven by playwright-core, a `hardhat node` child
 * with the vault and a USDT-style token, and the whole gateway (API, console, follower, notifier, money
 * movers) from runtime/gateway.ts on 127.0.0.1. An EIP-1193 wallet injected into the page signs with a
 * hardhat account (personal_sign for sign-in, eth_signTypedData_v4 for payouts) and forwards everything
 * else to the node. axe-core checks every page; screenshots of every page at phone and desktop size go
 * to test-results/console/.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { encodeDeployData, hashMessage, parseAbi, type Abi, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { resolveConfig, type GatewayConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { depositInitCodeHash } from "../src/domain/depositAddress.js";
import { newId } from "../src/domain/ids.js";
import { startGateway, type Gateway } from "../src/runtime/gateway.js";
import type { Db } from "../src/store/db.js";
import { createMerchant } from "../src/store/merchants.js";
import { upsertConsoleMember } from "../src/store/members.js";
import { openStore } from "../src/store/open.js";
import { getUnderpaymentTolerance } from "../src/store/quotes.js";
import { createPaymentOrder, type PaymentOrderRecord } from "../src/store/paymentOrders.js";
import {
  axeAndShoot,
  chromiumMissing,
  eoaWallet,
  hardhatKey,
  launchChromium,
  until,
  walletPage as openWalletPage,
  type TestWallet,
} from "./browserHarness.js";
import { deployFixture, freePort, moverChainConfig, startHardhatNode, type Fixture, type HardhatNode } from "./chainHarness.js";
import { paidPayment } from "./consoleHarness.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SHOTS = path.join(ROOT, "test-results/console");
const ERC20 = parseAbi(["function balanceOf(address) view returns (uint256)"]);
const admin = privateKeyToAccount(hardhatKey(0));
const viewer = privateKeyToAccount(generatePrivateKey());
const contractOwner = privateKeyToAccount(generatePrivateKey());
const skip = chromiumMissing("console browser test");

describe("merchant console in chromium, with an injected wallet against a hardhat node", { skip, timeout: 420_000 }, () => {
  let node: HardhatNode;
  let fx: Fixture;
  let db: Db;
  let config: GatewayConfig;
  let gateway: Gateway;
  let browser: Browser;
  let shop: http.Server;
  let shopUrl: string;
  let base: string;
  let miner: NodeJS.Timeout | undefined;
  let paid: PaymentOrderRecord;
  let otherMerchantOrder: PaymentOrderRecord;
  let contractWallet: Address;
  /** shop answers: each event's first delivery fails with 500, later ones are acknowledged */
  const deliveries = new Map<string, number>();
  /** CSP refusals and uncaught page errors: the console must run under its own policy without any */
  const pageErrors: string[] = [];
  const axeViolations: string[] = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    node = await startHardhatNode();
    fx = await deployFixture(node);
    assert.equal(
      admin.address.toLowerCase(),
      fx.admin.toLowerCase(),
      "the fixture's admin (the merchant's signer in the vault) is mnemonic account 0",
    );
    shop = http.createServer(async (req, res) => {
      for await (const _ of req);
      const id = String(req.headers["x-pay-event-id"] ?? req.headers["webhook-id"] ?? "");
      const n = (deliveries.get(id) ?? 0) + 1;
      deliveries.set(id, n);
      if (n === 1) return res.writeHead(500, { "content-type": "text/plain" }).end("try again");
      res.writeHead(200, { "content-type": "text/plain" }).end("success");
    });
    await new Promise<void>((r) => shop.listen(0, "127.0.0.1", r));
    shopUrl = `http://127.0.0.1:${(shop.address() as { port: number }).port}`;

    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    config = resolveConfig({
      masterKey: randomBytes(32),
      host: "127.0.0.1",
      port,
      payPageUrl: `${base}/pay`,
      logLevel: "silent",
      operatorKey: hardhatKey(0),
      allowPrivateWebhookTargets: true,
      chains: [await moverChainConfig(fx, "Hardhat local")],
    });
    db = await openStore({ pgliteDir: "memory://" });
    const box = createSecretBox(config.masterKey);
    await createMerchant(db, box, {
      id: fx.merchantId,
      name: "Corner Coffee",
      feeBps: 100,
      payoutSigner: fx.admin,
      rechargeNotifyUrl: `${shopUrl}/recharge`,
    });
    await createMerchant(db, box, { id: 2n, name: "Other Shop", payoutSigner: privateKeyToAccount(generatePrivateKey()).address });
    await upsertConsoleMember(db, {
      merchantId: fx.merchantId,
      address: viewer.address,
      role: "viewer",
      label: "Bookkeeper",
      addedBy: null,
    });

    // an ERC-1271 contract wallet (a one-owner Safe, in effect) as a member
    const artifact = JSON.parse(readFileSync(path.join(ROOT, "artifacts/contracts/mocks/TestWallets.sol/ERC1271Wallet.json"), "utf8")) as {
      abi: Abi;
      bytecode: Hex;
    };
    const data = encodeDeployData({ abi: artifact.abi, bytecode: artifact.bytecode, args: [contractOwner.address] });
    const hash = await node.rpc<Hex>("eth_sendTransaction", [{ from: fx.admin, data }]);
    const receipt = await node.rpc<{ contractAddress: Address }>("eth_getTransactionReceipt", [hash]);
    contractWallet = receipt.contractAddress;
    await upsertConsoleMember(db, { merchantId: fx.merchantId, address: contractWallet, role: "viewer", label: "Safe", addedBy: null });

    otherMerchantOrder = await paidPayment(db, {
      merchantId: 2n,
      ref: "other-secret",
      chainId: 31337,
      vault: fx.vault,
      token: fx.token,
      symbol: "USDT",
      decimals: 6,
      amount: 1_000_000n,
    });

    gateway = await startGateway({ config, db, pollIntervalMs: 100, moverIntervalMs: 300, retryScheduleMs: [300] });
    // blocks keep coming, as on a real chain
    miner = setInterval(() => void node.rpc("evm_mine").catch(() => {}), 250);

    browser = await launchChromium();
  });

  after(async () => {
    clearInterval(miner);
    await browser?.close().catch(() => {});
    await gateway?.stop().catch(() => {});
    await db?.close().catch(() => {});
    shop?.close();
    node?.stop();
  });

  /** A desktop-sized page with an EIP-1193 wallet that signs as `w` and forwards the rest to the node. */
  const walletPage = (w: TestWallet) => openWalletPage(browser, { wallet: w, node, errors: pageErrors, acceptDialogs: true });

  /** Screenshots at phone and desktop size, each checked by axe; violations are collected and asserted at the end. */
  async function shoot(page: Page, name: string) {
    axeViolations.push(...(await axeAndShoot(page, SHOTS, name)));
  }

  async function signIn(page: Page) {
    await page.goto(`${base}/console`);
    await page.waitForURL(/\/console\/signin$/);
    await page.click("#signin");
    await page.waitForURL(/\/console\/overview$/, { timeout: 20_000 });
  }

  const csrfOf = async (page: Page) => (await page.getAttribute('meta[name="csrf-token"]', "content"))!;

  it("the payout signer signs in with its wallet (SIWE), over a Secure cookie chromium keeps on 127.0.0.1", async () => {
    const { page, context, calls } = await walletPage(eoaWallet(admin));
    await page.goto(`${base}/console/signin`);
    await shoot(page, "01-signin");
    await page.click("#signin");
    await page.waitForURL(/\/console\/overview$/, { timeout: 20_000 });
    assert.deepEqual(calls.slice(0, 3), ["eth_requestAccounts", "eth_chainId", "personal_sign"]);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "console_session")!;
    assert.ok(session, "chromium stored the session cookie");
    assert.equal(session.secure, true);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, "Strict");
    assert.equal(session.path, "/console");
    assert.match((await page.textContent(".who"))!, /Admin/);
    // the default public address of a local gateway is http://localhost:…: chromium keeps Secure cookies there too
    await page.goto(`http://localhost:${new URL(base).port}/console/signin`);
    const local = (await context.cookies(`http://localhost:${new URL(base).port}/console`)).find((c) => c.name === "console_browser");
    assert.ok(local?.secure, "a Secure cookie set over http://localhost is kept");
    assert.match((await page.textContent("main"))!, /another address than the console's public one/);
    await context.close();
  });

  it("a paid order with its callbacks; a re-send delivers the latest event again", async () => {
    // the order is the store's (as the merchant API would make it); the payer pays it on chain, the follower confirms it
    const { order } = await createPaymentOrder(db, {
      id: newId(),
      merchantId: fx.merchantId,
      merchantOrderId: "cafe-1001",
      requestHash: "cafe-1001",
      chainId: 31337,
      vault: fx.vault,
      initCodeHash: depositInitCodeHash(fx.vault),
      tokenAddress: fx.token,
      tokenSymbol: "USDT",
      tokenDecimals: 6,
      amount: 10_000_000n,
      notifyUrl: `${shopUrl}/notify`,
      redirectionUrl: null,
      accessSign: "browser-test",
      expiresAt: new Date(Date.now() + 3_600_000),
      description: "cafe order 1001",
      quoteSymbol: "USDT",
      quoteAmount: "10",
      isLegalTender: 0,
    });
    await fx.mint(fx.payer, 100_000_000n);
    const transfer = await fx.write(fx.token, fx.tokenAbi, "transfer", [order.receiptAddress, 10_000_000n], fx.payer);
    paid = await until(
      "payment success",
      async () => (await db.query("SELECT * FROM payment_orders WHERE id = $1", [order.id]))[0]!,
      (r) => Number(r.status) === 4,
    ).then(() => ({ ...order, status: 4 }) as PaymentOrderRecord);
    // swept into the vault, so a refund has a balance to pay from
    await until(
      "vault credit",
      async () =>
        (await fx.publicClient.readContract({
          address: fx.vault,
          abi: fx.vaultAbi,
          functionName: "accountOf",
          args: [fx.merchantId, fx.token],
        })) as [bigint, bigint],
      ([b]) => b === 9_900_000n,
    );
    // every event answered 500 once, then acknowledged on the retry
    await until(
      "success webhook delivered",
      async () =>
        (await db.query("SELECT count(*)::int AS n FROM outbox_events WHERE aggregate_id = $1 AND delivered_at IS NULL", [order.id]))[0]!.n,
      (n) => n === 0,
    );

    const { page, context } = await walletPage(eoaWallet(admin));
    await signIn(page);
    assert.match((await page.textContent("#h-vault + .table-wrap"))!, /9\.9/, "the vault balance read over RPC: 10 USDT less the 1% fee");
    await shoot(page, "02-overview");

    await page.click("nav.main-nav >> text=Orders");
    await page.waitForURL(/\/console\/orders$/);
    assert.match((await page.textContent("table.orders"))!, /cafe-1001/);
    await page.fill("#f-tx", transfer.transactionHash);
    await page.click(".filters button[type=submit]");
    await page.waitForURL(/tx=0x/);
    assert.match((await page.textContent("table.orders tbody"))!, /cafe-1001/, "found by its transaction hash");
    await shoot(page, "03-orders");

    await page.click(`a[href="/console/orders/payment/${order.id}"]`);
    await page.waitForURL(new RegExp(`/console/orders/payment/${order.id}$`));
    const timeline = (await page.textContent(".timeline"))!;
    assert.match(timeline, /Seen on chain → Paid|Confirming → Paid/);
    assert.doesNotMatch(timeline, /undefined|NaN/);
    assert.match((await page.textContent("#transfers"))!, new RegExp(transfer.transactionHash));
    const attempts = (await page.textContent("#webhook-attempts tbody"))!;
    assert.match(attempts, /500/);
    assert.match(attempts, /200/);
    const before = await page.locator("#webhook-attempts tbody tr").count();
    await shoot(page, "04-payment-detail");

    await page.click("#resend");
    await page.waitForURL(/done=resent/);
    assert.match((await page.textContent(".flash"))!, /queued again/);
    await until(
      "re-sent delivery",
      async () => {
        await page.reload();
        return page.locator("#webhook-attempts tbody tr").count();
      },
      (n) => n > before,
    );
    await context.close();
  });

  it("creates a partial refund, approves it with eth_signTypedData_v4 and sees it paid on chain; rejects another", async () => {
    const { page, context, calls } = await walletPage(eoaWallet(admin));
    await signIn(page);
    await page.goto(`${base}/console/orders/payment/${paid.id}`);
    await page.fill("#refund-amount", "4");
    await page.fill("#refund-reason", "one cup short");
    await page.click("#refund-submit");
    await page.waitForURL(/\/console\/orders\/refund\/[0-9A-Z]{26}\?done=refundCreated$/);
    const refundId = /refund\/([0-9A-Z]{26})/.exec(page.url())![1]!;
    assert.match((await page.textContent(".facts"))!, /Awaiting approval/);
    await shoot(page, "05-refund-detail");

    await page.click("nav.main-nav >> text=Approvals");
    await page.waitForURL(/\/console\/approvals$/);
    assert.equal(await page.textContent("#signer"), admin.address, "the page names who must sign");
    const row = page.locator(`#o-${refundId}`);
    assert.match((await row.locator(".amount").textContent())!, /^4 USDT$/);
    await shoot(page, "06-approvals");
    await row.locator("button[data-approve]").click();
    await page.waitForSelector("#approve-dialog[open]");
    assert.equal(await page.textContent("#dlg-to"), (await row.getAttribute("data-to"))!);
    assert.equal((await page.textContent("#dlg-to"))!.toLowerCase(), fx.payer.toLowerCase(), "the refund goes to the payer");
    assert.equal(await page.textContent("#dlg-amount"), "4 USDT");
    await shoot(page, "07-approve-dialog");
    const payerBefore = (await fx.publicClient.readContract({
      address: fx.token,
      abi: ERC20,
      functionName: "balanceOf",
      args: [fx.payer],
    })) as bigint;
    await page.click("#dlg-sign");
    await page.waitForURL(/\/console\/approvals\?done=approved$/, { timeout: 20_000 });
    assert.ok(calls.includes("eth_signTypedData_v4"));
    // the payout executor sends it; the follower sees PayoutExecuted at depth and marks it paid
    await until(
      "refund paid",
      async () => Number((await db.query("SELECT status FROM refund_orders WHERE id = $1", [refundId]))[0]!.status),
      (s) => s === 3,
      60_000,
    );
    const payerAfter = (await fx.publicClient.readContract({
      address: fx.token,
      abi: ERC20,
      functionName: "balanceOf",
      args: [fx.payer],
    })) as bigint;
    assert.equal(payerAfter - payerBefore, 4_000_000n, "4 USDT reached the payer on chain");
    await page.goto(`${base}/console/orders/refund/${refundId}`);
    assert.match((await page.textContent(".facts"))!, /Paid out/);
    assert.match((await page.textContent("#payout-executed"))!, /paid it out in block/);
    await shoot(page, "08-refund-paid");

    // a second refund, rejected with a reason
    await page.goto(`${base}/console/orders/payment/${paid.id}`);
    await page.fill("#refund-amount", "1");
    await page.click("#refund-submit");
    await page.waitForURL(/\/console\/orders\/refund\//);
    const secondId = /refund\/([0-9A-Z]{26})/.exec(page.url())![1]!;
    await page.goto(`${base}/console/approvals`);
    const second = page.locator(`#o-${secondId}`);
    await second.locator("details.reject summary").click();
    await second.locator("input[name=reason]").fill("customer changed their mind");
    await second.locator("details.reject button[type=submit]").click();
    await page.waitForURL(/done=rejected/);
    const [r] = await db.query("SELECT status, reason FROM refund_orders WHERE id = $1", [secondId]);
    assert.equal(Number(r!.status), -1);
    assert.equal(r!.reason, "customer changed their mind");
    await shoot(page, "09-approvals-empty");
    await context.close();
  });

  it("creates an API key (the secret shown once) and revokes it; settings and a printable QR code", async () => {
    const { page, context } = await walletPage(eoaWallet(admin));
    await signIn(page);
    await page.goto(`${base}/console/settings`);
    await shoot(page, "10-settings");
    await page.fill("#key-label", "till server");
    await page.click("#create-key");
    const key = (await page.textContent("#new-api-key"))!;
    assert.match(key, /^pk_/);
    assert.match((await page.textContent("#new-api-secret"))!, /^sk_[0-9a-f]{64}$/);
    await shoot(page, "11-api-key-created");
    await page.goto(`${base}/console/settings`);
    assert.equal(await page.$("#new-api-secret"), null, "the secret is not shown again");
    await page.click(`button:has-text("Revoke ${key}")`);
    await page.waitForURL(/done=keyRevoked/);
    const [k] = await db.query("SELECT active FROM merchant_api_keys WHERE key_id = $1", [key]);
    assert.equal(k!.active, false);

    await page.fill("#qr-label", "Front counter");
    await page.fill("#qr-notify", `${shopUrl}/qr`);
    await page.fill("#qr-max", "25");
    await page.click("#create-qr");
    await page.waitForURL(/done=qrCreated/);
    await page.click('a:has-text("Print Front counter")');
    await page.waitForURL(/\/print$/);
    assert.ok(await page.isVisible(".print-qr svg"));
    await shoot(page, "12-qr-print");
    await context.close();
  });

  it("sets the underpayment tolerance in the settings page; a wrong value is refused and changes nothing", async () => {
    const bps = async () => getUnderpaymentTolerance(db, fx.merchantId);
    const { page, context } = await walletPage(eoaWallet(admin));
    await signIn(page);
    await page.goto(`${base}/console/settings#tolerance`);
    assert.equal(await page.textContent("#tolerance-current"), "Now: 0% (0 basis points).");
    assert.match((await page.textContent("#tolerance-hint"))!, /counts as paid; each order keeps the value in force when it was created/);
    await page.fill("#tolerance-percent", "12");
    await page.click("#save-tolerance");
    await page.waitForSelector("#error-tolerance");
    assert.match((await page.textContent("#error-tolerance"))!, /from 0 to 10 with at most two digits after the dot.*nothing was changed/);
    assert.equal(await page.inputValue("#tolerance-percent"), "12", "the refused value stays in the field to correct");
    assert.equal(await bps(), 0);
    await shoot(page, "20-tolerance-refused");
    await page.fill("#tolerance-percent", "1.5");
    await page.click("#save-tolerance");
    await page.waitForURL(/done=toleranceSaved#tolerance$/);
    assert.match((await page.textContent(".flash"))!, /Underpayment tolerance saved/);
    assert.equal(await page.textContent("#tolerance-current"), "Now: 1.5% (150 basis points).");
    assert.equal(await bps(), 150);
    await shoot(page, "21-tolerance-saved");
    await page.fill("#tolerance-percent", "0");
    await page.click("#save-tolerance");
    await page.waitForURL(/done=toleranceSaved/);
    assert.equal(await bps(), 0);
    await context.close();
  });

  it("a viewer sees the queue but is refused an approval; an ERC-1271 contract wallet signs in", async () => {
    // a pending payout to look at
    const { page: adminPage, context: adminContext } = await walletPage(eoaWallet(admin));
    await signIn(adminPage);
    await adminPage.goto(`${base}/console/orders/payment/${paid.id}`);
    await adminPage.fill("#refund-amount", "0.5");
    await adminPage.click("#refund-submit");
    await adminPage.waitForURL(/\/console\/orders\/refund\//);
    const pendingId = /refund\/([0-9A-Z]{26})/.exec(adminPage.url())![1]!;
    await adminContext.close();

    const { page, context } = await walletPage(eoaWallet(viewer));
    await signIn(page);
    assert.match((await page.textContent(".who"))!, /Viewer/);
    await page.goto(`${base}/console/approvals`);
    assert.match((await page.textContent("#approve-box"))!, /approving and rejecting need an approver/);
    assert.equal(await page.isDisabled(`#o-${pendingId} button[data-approve]`), true);
    await shoot(page, "13-approvals-viewer");
    const res = await page.request.post(`${base}/console/approvals/approve`, {
      data: { items: [{ kind: "refund", id: pendingId }], signature: `0x${"11".repeat(65)}` },
      headers: { "x-csrf-token": await csrfOf(page), origin: base },
    });
    assert.equal(res.status(), 403);
    assert.match((await res.json()).error, /needs approver/);
    const [r] = await db.query("SELECT status FROM refund_orders WHERE id = $1", [pendingId]);
    assert.equal(Number(r!.status), 0, "still pending");
    await context.close();

    // a contract wallet: the owner signs the message's hash, the console asks the contract (isValidSignature) over the RPC
    const safe = await walletPage({
      account: contractWallet,
      signMessage: async (raw) => contractOwner.sign({ hash: hashMessage({ raw }) }),
    });
    await signIn(safe.page);
    assert.match((await safe.page.textContent(".who"))!, /Viewer/);
    await safe.context.close();
  });

  it("refuses a forged or replayed SIWE message, a cross-merchant URL and a write without the CSRF token", async () => {
    // a wallet that claims the signer's address but signs with another key
    const impostor = privateKeyToAccount(generatePrivateKey());
    const forged = await walletPage({ account: admin.address, signMessage: (raw) => impostor.signMessage({ message: { raw } }) });
    await forged.page.goto(`${base}/console/signin`);
    await forged.page.click("#signin");
    await until(
      "refusal shown",
      async () => (await forged.page.textContent("#signin-msg")) ?? "",
      (s) => /not from the address/.test(s),
    );
    assert.match(forged.page.url(), /\/console\/signin$/);
    assert.equal(
      (await forged.context.cookies()).some((c) => c.name === "console_session"),
      false,
    );
    await shoot(forged.page, "14-signin-refused");
    await forged.context.close();

    // a replay: the message and signature of a successful sign-in, sent again from the same browser
    const { page, context } = await walletPage(eoaWallet(admin));
    let captured: { message: string; signature: string } | undefined;
    let token = "";
    page.on("request", (r) => {
      if (!r.url().endsWith("/console/signin/verify")) return;
      captured = r.postDataJSON();
      token = r.headers()["x-csrf-token"] ?? "";
    });
    await signIn(page);
    assert.ok(captured && token);
    const replay = await page.request.post(`${base}/console/signin/verify`, {
      data: captured,
      headers: { "x-csrf-token": token, origin: base },
    });
    assert.equal(replay.status(), 401);
    assert.match((await replay.json()).error, /already used/);

    // another merchant's order by URL: 404, nothing of it shown
    const other = await page.goto(`${base}/console/orders/payment/${otherMerchantOrder.id}`);
    assert.equal(other!.status(), 404);
    assert.doesNotMatch(await page.content(), /other-secret/);
    await shoot(page, "15-not-found");

    // a write without the CSRF token
    await page.goto(`${base}/console/settings`);
    const keysBefore = await db.query("SELECT count(*)::int AS n FROM merchant_api_keys");
    const noToken = await page.request.post(`${base}/console/settings/api-keys`, { form: { label: "csrf" }, headers: { origin: base } });
    assert.equal(noToken.status(), 403);
    assert.deepEqual(await db.query("SELECT count(*)::int AS n FROM merchant_api_keys"), keysBefore);
    await context.close();
  });

  it("every page in Simplified Chinese passes axe too", async () => {
    const { page, context } = await walletPage(eoaWallet(admin));
    await signIn(page);
    for (const [name, url] of [
      ["16-overview-zh", "/console/overview?lang=zh-CN"],
      ["17-orders-zh", "/console/orders?kind=refund"],
      ["18-approvals-zh", "/console/approvals"],
      ["19-settings-zh", "/console/settings"],
    ] as const) {
      await page.goto(`${base}${url}`);
      assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
      await shoot(page, name);
    }
    await context.close();
  });

  it("no page met a CSP refusal, a script error or an axe violation", () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(axeViolations, []);
  });
});
