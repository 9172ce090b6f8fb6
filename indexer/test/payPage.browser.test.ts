/**
 * The hosted payment page in a real browser: Debian's chromium driven by playwright-core, a `hardhat node`
 * child with the vault and a USDT-style token, the gateway app on 127.0.0.1 and the real chain follower
 * with the deposit hooks (src/ingest/) moving the orders. An EIP-1193 provider injected into the page
 * forwards to the node with one of its unlocked accounts as the payer. Screenshots of every state go to
 * test-results/pay-page/.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { buildApp } from "../src/api/app.js";
import { resolveConfig, type GatewayConfig } from "../src/config.js";
import type { ChainFollower, ChainFollowerHooks } from "../src/chain/follower.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import type { Db } from "../src/store/db.js";
import { createMerchant, type CreatedMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { applyPaymentEvent, expireDuePaymentOrders } from "../src/store/paymentOrders.js";
import { deployFixture, freePort, startHardhatNode, type Fixture, type HardhatNode } from "./chainHarness.js";
import { call, type TestGateway } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = path.resolve(import.meta.dirname, "../../test-results/pay-page");
const DEPTH = 3;
// a variable, so a tree without src/ingest/ still loads this file (the cases that need it skip)
const INGEST = "../src/ingest/index.js";
const ZERO = "0x0000000000000000000000000000000000000000";
const skip = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the payment page browser test`;

describe("payment page in chromium, paid from an injected wallet against a hardhat node", { skip, timeout: 240_000 }, () => {
  let node: HardhatNode;
  let fx: Fixture;
  let db: Db;
  let config: GatewayConfig;
  let gw: TestGateway;
  let merchant: CreatedMerchant;
  let follower: ChainFollower;
  let following: Promise<void> | undefined;
  let noIngest: string | false = false;
  let browser: Browser;
  let shop: http.Server;
  let shopUrl: string;
  let seq = 0;
  /** CSP refusals and uncaught page errors: the page must run under its own policy without any */
  const cspErrors: string[] = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    node = await startHardhatNode();
    fx = await deployFixture(node);
    const port = await freePort();
    config = resolveConfig({
      masterKey: randomBytes(32),
      payPageUrl: `http://127.0.0.1:${port}/pay`,
      allowPrivateWebhookTargets: true, // the test's shop listens on 127.0.0.1
      chains: [
        {
          chainId: 31337,
          code: "local",
          name: "Hardhat local",
          vault: fx.vault,
          confirmations: DEPTH,
          rpcUrl: node.url,
          tokens: [
            { symbol: "ETH", address: ZERO, decimals: 18 },
            { symbol: "USDT", address: fx.token, decimals: 6 },
          ],
        },
      ],
    });
    db = await openStore({ pgliteDir: "memory://" });
    // merchant 1 is the one the fixture registered in the vault
    merchant = await createMerchant(db, createSecretBox(config.masterKey), { name: "Corner Coffee", id: fx.merchantId });
    const app = await buildApp({ db, config });
    await app.listen({ host: "127.0.0.1", port });
    gw = { url: `http://127.0.0.1:${port}`, db, app, config, merchants: [merchant], close: async () => {} };

    // the real follower with the order hooks (src/ingest/); without them the chain-driven cases skip
    const { createChainFollower } = await import("../src/chain/follower.js");
    let createOrderHooks: ((a: { poolCooldownSeconds: number }) => ChainFollowerHooks) | undefined;
    try {
      ({ createOrderHooks } = await import(INGEST));
    } catch (e) {
      noIngest = `src/ingest/ (createOrderHooks) cannot be loaded (${
        (e as Error).message.split("\n")[0]
      }): the pay-to-success runs need the real follower`;
    }
    if (createOrderHooks)
      follower = createChainFollower({
        db,
        chain: {
          chainId: 31337,
          rpcUrl: node.url,
          vault: fx.vault,
          tokens: [{ address: fx.token }, { address: ZERO }],
          confirmations: DEPTH,
          startBlock: await fx.blockNumber(),
        },
        hooks: createOrderHooks({ poolCooldownSeconds: config.poolCooldownSeconds }),
        pollIntervalMs: 200,
      });
    following = follower?.run();
    following?.catch(() => {});

    shop = http.createServer((req, res) =>
      res.writeHead(200, { "content-type": "text/html" }).end(`<h1>Thanks from the shop</h1><p>${req.url}</p>`)
    );
    await new Promise<void>((r) => shop.listen(0, "127.0.0.1", r));
    shopUrl = `http://127.0.0.1:${(shop.address() as { port: number }).port}`;

    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await follower?.stop().catch(() => {});
    await gw?.app.close().catch(() => {});
    await db?.close().catch(() => {});
    shop?.close();
    node?.stop();
  });

  /** an order through the API, in the names the page's URL uses (payOrderId = outPaymentNo, merchantOrderId = outTradeNo) */
  const createOrder = async (over: { token?: string; amount?: string; redirectionUrl?: undefined; expireSeconds?: number } = {}) => {
    const res = await call(gw, merchant, "POST", "payment/createPaymentOrder", {
      outTradeNo: `browser-${++seq}`,
      chainId: 31337,
      quoteCurrencySymbol: over.token ?? "USDT",
      quoteAmount: over.amount ?? "12.5",
      notifyUrl: `${shopUrl}/notify`,
      ...("redirectionUrl" in over ? {} : { redirectionUrl: `${shopUrl}/done` }),
      ...(over.expireSeconds ? { expireSeconds: over.expireSeconds } : {}),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const d = res.body.data;
    return { payOrderId: d.outPaymentNo as string, paymentUrl: d.paymentLink as string, receiptAddress: d.userWalletAddress as string, accessSign: d.accessSign as string, merchantOrderId: d.outTradeNo as string };
  };

  /** A phone-sized page with an EIP-1193 wallet that starts on chain 1 and forwards to the hardhat node. */
  const walletPage = async (): Promise<{ page: Page; calls: string[] }> => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 1,
      isMobile: true,
      hasTouch: true,
    });
    const page = await context.newPage();
    const calls: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) cspErrors.push(m.text());
    });
    page.on("pageerror", (e) => cspErrors.push(`page error: ${e.message}`));
    let walletChain = "0x1";
    await page.exposeFunction("__walletRpc", async (method: string, params: unknown[]) => {
      calls.push(method);
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return { result: [fx.payer] };
        case "eth_chainId":
          return { result: walletChain };
        case "wallet_switchEthereumChain": {
          const wanted = (params[0] as { chainId: string }).chainId;
          if (wanted !== "0x7a69") return { error: { code: 4902, message: `unknown chain ${wanted}` } };
          walletChain = wanted;
          return { result: null };
        }
        default:
          try {
            return { result: await node.rpc(method, params) };
          } catch (e) {
            return { error: { code: -32000, message: (e as Error).message } };
          }
      }
    });
    await page.addInitScript(() => {
      const w = globalThis as unknown as {
        __walletRpc(m: string, p: unknown[]): Promise<{ result?: unknown; error?: { code: number; message: string } }>;
        ethereum: unknown;
      };
      w.ethereum = {
        isTestWallet: true,
        async request({ method, params }: { method: string; params?: unknown[] }) {
          const r = await w.__walletRpc(method, params ?? []);
          if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code });
          return r.result;
        },
        on() {},
        removeListener() {},
      };
    });
    return { page, calls };
  };

  const local = (paymentUrl: string) => paymentUrl; // the config's payPageUrl is the gateway itself
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  /** Polls an element's text from the test side (the page's CSP refuses Playwright's string evaluation). */
  const waitText = async (page: Page, selector: string, re: RegExp, timeoutMs: number) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const text = (await page.textContent(selector)) ?? "";
      if (re.test(text)) return text;
      if (Date.now() > end) throw new Error(`${selector} never matched ${re}: last "${text}"`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const waitState = (page: Page, state: number) => page.waitForSelector(`#status[data-state="${state}"]`, { timeout: 30_000 });

  it("pays a USDT order from the page: seen, confirming with a count, success, then the redirect", async (t) => {
    if (noIngest) return t.skip(noIngest);
    const o = await createOrder();
    await fx.mint(fx.payer, 100_000_000n);
    const { page, calls } = await walletPage();
    await page.goto(local(o.paymentUrl));
    await waitState(page, 0);
    assert.equal(await page.textContent("#amount"), "12.5");
    assert.equal(await page.textContent("#receipt"), o.receiptAddress);
    assert.match((await page.textContent("#countdown"))!, /^(29|30):\d\d$/);
    assert.ok(await page.isVisible("#qr svg"));
    await shot(page, "01-unpaid");

    await page.click("#pay-wallet");
    await waitText(page, "#wallet-msg", /^Sent: 0x/, 20_000);
    assert.deepEqual(calls.slice(0, 4), ["eth_requestAccounts", "eth_chainId", "wallet_switchEthereumChain", "eth_sendTransaction"]);
    const balance = await fx.publicClient.readContract({
      address: fx.token,
      abi: fx.tokenAbi,
      functionName: "balanceOf",
      args: [o.receiptAddress],
    });
    assert.equal(balance, 12_500_000n, "the page encoded transfer(receipt, 12.5 USDT)");

    await waitState(page, 2);
    await shot(page, "02-seen");
    await fx.mine(1);
    await waitState(page, 3);
    await waitText(page, "#status-detail", /\(2\/3\)/, 10_000);
    await shot(page, "03-confirming");
    await fx.mine(1);
    await waitState(page, 4);
    assert.match((await page.textContent("#status-detail"))!, /Returning to the shop in 3 seconds/);
    await shot(page, "04-success");
    const t0 = Date.now();
    await page.waitForURL((u) => u.pathname === "/done", { timeout: 15_000 });
    assert.ok(Date.now() - t0 >= 1_500, "the redirect waits a visible moment");
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.get("payOrderId"), o.payOrderId);
    assert.equal(landed.searchParams.get("state"), "4");
    await shot(page, "05-redirected");
    await page.context().close();
  });

  it("a native-coin order paid from the wallet reaches success", async (t) => {
    if (noIngest) return t.skip(noIngest);
    const o = await createOrder({ token: "ETH", amount: "0.25", redirectionUrl: undefined });
    const { page } = await walletPage();
    await page.goto(local(o.paymentUrl));
    await waitState(page, 0);
    await page.click("#pay-wallet");
    await waitState(page, 2);
    await fx.mine(DEPTH);
    await waitState(page, 4);
    const balance = await fx.publicClient.getBalance({ address: o.receiptAddress as `0x${string}` });
    assert.equal(balance, 250_000_000_000_000_000n);
    assert.match((await page.textContent("#status-detail"))!, /close this page/);
    await page.context().close();
  });

  it("underpaid shows what is missing; expired, cancelled and an invalid link show their pages", async () => {
    const under = await createOrder({ amount: "10" });
    await fx.mint(fx.payer, 4_000_000n);
    await fx.write(fx.token, fx.tokenAbi, "transfer", [under.receiptAddress, 4_000_000n], fx.payer);
    if (noIngest) {
      // no follower: record the transfer the way the deposit hooks would
      await applyPaymentEvent(db, {
        merchantId: merchant.merchantId,
        ref: { payOrderId: under.payOrderId },
        event: { type: "transferSeen", amount: 4_000_000n },
        poolCooldownSeconds: 60,
      });
    }
    const { page } = await walletPage();
    await page.goto(local(under.paymentUrl));
    await waitState(page, 1);
    assert.match((await page.textContent("#status-detail"))!, /Received 4 USDT\. Still missing 6 USDT\./);
    await shot(page, "06-underpaid");
    await page.reload();
    await waitState(page, 1);
    assert.equal(await page.textContent("#send-amount"), "6 USDT");
    assert.match((await page.getAttribute("#uri", "href"))!, /uint256=6000000$/, "the QR asks for what is missing");

    const expired = await createOrder({ expireSeconds: 60 });
    await db.query("UPDATE payment_orders SET expires_at = now() - interval '1 second' WHERE id = $1", [expired.payOrderId]);
    await expireDuePaymentOrders(db, { poolCooldownSeconds: 60 });
    await page.goto(local(expired.paymentUrl));
    await waitState(page, -2);
    assert.equal(await page.textContent("#status-title"), "Expired");
    assert.equal(await page.isDisabled("#pay-wallet"), true);
    await shot(page, "07-expired");

    const cancelled = await createOrder();
    assert.equal((await call(gw, merchant, "POST", "payment/cancel", { outPaymentNo: cancelled.payOrderId })).status, 200);
    await page.goto(local(cancelled.paymentUrl));
    await waitState(page, -3);
    assert.equal(await page.textContent("#status-title"), "Cancelled");
    await shot(page, "08-cancelled");

    const bad = new URL(cancelled.paymentUrl);
    bad.searchParams.set("accessSign", "0".repeat(64));
    const res = await page.goto(bad.toString());
    assert.equal(res!.status(), 404);
    assert.match((await page.textContent("h1"))!, /Link invalid/);
    assert.equal(await page.$("#receipt"), null);
    await shot(page, "09-invalid-link");
    await page.context().close();
  });

  it("a static merchant QR: the payer types an amount and lands on a new order's page", async () => {
    const qr = (
      await call(gw, merchant, "POST", "qrcode/create", {
        label: "Till 2",
        chainId: 31337,
        currencyId: 2,
        notifyUrl: `${shopUrl}/qr`,
        maxAmount: "500",
      })
    ).body.data;
    const { page } = await walletPage();
    await page.goto(qr.url);
    await shot(page, "10-qr-amount");
    await page.fill("#amount", "600");
    await page.click("#continue");
    assert.match((await page.textContent("#error"))!, /above the maximum of 500 USDT/);
    await page.fill("#amount", "3.75");
    await page.click("#continue");
    await waitState(page, 0);
    assert.equal(await page.textContent("#amount"), "3.75");
    assert.equal(new URL(page.url()).pathname, "/pay");
    await shot(page, "11-qr-order");
    await page.context().close();
  });

  it("no page met a CSP refusal or a script error", () => {
    assert.deepEqual(cspErrors, []);
  });
});
