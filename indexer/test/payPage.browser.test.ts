/**
 * The hosted payment page in a real browser: Debian's chromium driven by playwright-core, a `hardhat node`
 * child with the vault and a USDT-style token, the gateway app on 127.0.0.1 and the real chain follower
 * with the deposit hooks (src/ingest/) moving the orders. An EIP-1193 provider injected into the page
 * forwards to the node with one of its unlocked accounts as the payer; another page has two wallets announced
 * by EIP-6963 instead. Every state is checked with axe-core (browserHarness.ts's checkAxe, through the
 * DevTools protocol, so the page's CSP stays as it is) and photographed at phone and desktop size into
 * test-results/pay-page/, in English and Simplified Chinese, light and dark.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
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
import { checkAxe, chromiumMissing, DESKTOP, launchChromium, PHONE, screenshot, watchPageErrors } from "./browserHarness.js";
import { artifact, deployFixture, freePort, startHardhatNode, type Fixture, type HardhatNode } from "./chainHarness.js";
import { call, type TestGateway } from "./helpers.js";

const ICON = `data:image/svg+xml;base64,${Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><circle cx="12" cy="12" r="11" fill="#7b61ff"/></svg>',
).toString("base64")}`;
const SHOTS = path.resolve(import.meta.dirname, "../../test-results/pay-page");
const DEPTH = 3;
// a variable, so a tree without src/ingest/ still loads this file (the cases that need it skip)
const INGEST = "../src/ingest/index.js";
const ZERO = "0x0000000000000000000000000000000000000000";
const USDT_137 = "0x00000000000000000000000000000000000000c2";
const skip = chromiumMissing("payment page browser test");

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
  /** MockAggregatorV3 price feeds on the node: ETH/USD and USDT/USD (8 decimals, prices set by the test) */
  const feeds = {} as Record<"eth" | "usdt", `0x${string}`>;
  let seq = 0;
  /** CSP refusals and uncaught page errors: the page must run under its own policy without any */
  const cspErrors: string[] = [];

  before(async () => {
    // only this run's pictures: a state that is gone must not leave an old one behind
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    shop = http.createServer((req, res) => {
      const explorer = /^\/explorer\/tx\/(0x[0-9a-f]{64})$/.exec(req.url ?? "");
      res
        .writeHead(200, { "content-type": "text/html" })
        .end(explorer ? `<h1>Explorer</h1><p id="tx">${explorer[1]}</p>` : `<h1>Thanks from the shop</h1><p>${req.url}</p>`);
    });
    await new Promise<void>((r) => shop.listen(0, "127.0.0.1", r));
    shopUrl = `http://127.0.0.1:${(shop.address() as { port: number }).port}`;
    node = await startHardhatNode();
    fx = await deployFixture(node);
    const feedArtifact = artifact("contracts/mocks/MockAggregatorV3.sol/MockAggregatorV3.json");
    for (const [name, description, answer] of [
      ["eth", "ETH / USD", 2000_00000000n],
      ["usdt", "USDT / USD", 1_00000000n],
    ] as const) {
      const hash = await fx.wallet.deployContract({ ...feedArtifact, args: [8, description, answer], account: fx.admin, chain: null });
      feeds[name] = (await fx.publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
    }
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
          explorerUrl: `${shopUrl}/explorer`,
          tokens: [
            { symbol: "ETH", address: ZERO, decimals: 18 },
            { symbol: "USDT", address: fx.token, decimals: 6, name: "Tether USD" },
          ],
          // USD-priced orders: ETH from its feed, USDT pegged to USD within 1% of its feed
          pricing: {
            tokens: {
              ETH: { feed: { address: feeds.eth, heartbeatSeconds: 3600 } },
              USDT: { peg: "USD", bandBps: 100, feed: { address: feeds.usdt, heartbeatSeconds: 86400 } },
            },
          },
        },
        // USDT is accepted on a second network too (not followed here): the page offers the switch
        {
          chainId: 137,
          code: "polygon",
          name: "Polygon",
          vault: fx.vault,
          confirmations: DEPTH,
          tokens: [{ symbol: "USDT", address: USDT_137, decimals: 6, name: "Tether USD" }],
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

    browser = await launchChromium();
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
    return {
      payOrderId: d.outPaymentNo as string,
      paymentUrl: d.paymentLink as string,
      receiptAddress: d.userWalletAddress as string,
      accessSign: d.accessSign as string,
      merchantOrderId: d.outTradeNo as string,
    };
  };

  type Wallets = "injected" | "eip6963" | "none";
  type WalletCall = { wallet: string; method: string; result?: unknown };

  /**
   * A phone-sized page. Wallets: `injected` puts an EIP-1193 `window.ethereum` in it; `eip6963` announces two
   * (Alpha and Beta) by EIP-6963 and no window.ethereum; `none` has no wallet. Every wallet starts on chain 1
   * and forwards to the hardhat node with the fixture's payer as its account.
   */
  const walletPage = async (
    o: { wallets?: Wallets; locale?: string; colorScheme?: "light" | "dark" } = {},
  ): Promise<{ page: Page; calls: string[]; log: WalletCall[] }> => {
    const context = await browser.newContext({
      viewport: PHONE,
      deviceScaleFactor: 1,
      isMobile: true,
      hasTouch: true,
      locale: o.locale ?? "en-US",
      colorScheme: o.colorScheme ?? "light",
    });
    const page = await context.newPage();
    const calls: string[] = [];
    const log: WalletCall[] = [];
    watchPageErrors(page, cspErrors);
    const walletChain: Record<string, string> = {};
    await page.exposeFunction("__walletRpc", async (wallet: string, method: string, params: unknown[]) => {
      calls.push(method);
      const entry: WalletCall = { wallet, method };
      log.push(entry);
      const chain = walletChain[wallet] ?? "0x1";
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return { result: [fx.payer] };
        case "eth_chainId":
          return { result: chain };
        case "wallet_switchEthereumChain": {
          const wanted = (params[0] as { chainId: string }).chainId;
          if (wanted !== "0x7a69") return { error: { code: 4902, message: `unknown chain ${wanted}` } };
          walletChain[wallet] = wanted;
          return { result: null };
        }
        default:
          try {
            entry.result = await node.rpc(method, params);
            return { result: entry.result };
          } catch (e) {
            return { error: { code: -32000, message: (e as Error).message } };
          }
      }
    });
    // plain JS source: a function would be compiled by tsx, whose name helpers do not exist in the page
    await page.addInitScript({ content: walletScript(o.wallets ?? "injected") });
    return { page, calls, log };
  };

  /** The init script that installs the page's wallets (see {walletPage}). */
  const walletScript = (wallets: Wallets) => `(() => {
    const provider = (id) => ({
      isTestWallet: true,
      async request({ method, params }) {
        const r = await window.__walletRpc(id, method, params || []);
        if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code });
        return r.result;
      },
      on() {},
      removeListener() {},
    });
    const wallets = ${JSON.stringify(wallets)};
    if (wallets === "injected") window.ethereum = provider("injected");
    if (wallets === "eip6963") {
      const announced = ["Alpha", "Beta"].map((name, i) => ({
        info: { uuid: "00000000-0000-4000-8000-00000000000" + (i + 1), name: name + " Wallet", icon: ${JSON.stringify(ICON)}, rdns: "test." + name.toLowerCase() },
        provider: provider(name.toLowerCase()),
      }));
      const announce = () => {
        for (const detail of announced) window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze(detail) }));
      };
      window.addEventListener("eip6963:requestProvider", announce);
      announce();
    }
  })();`;

  const checked: string[] = [];
  /** A state of a page: axe-core must find nothing, and it is photographed at phone and desktop size. */
  const state = async (page: Page, name: string) => {
    assert.deepEqual(await checkAxe(page, name), [], `${name}: axe-core violations`);
    checked.push(name);
    await page.setViewportSize(DESKTOP);
    await screenshot(page, SHOTS, `${name}-desktop`);
    await page.setViewportSize(PHONE);
    await screenshot(page, SHOTS, `${name}-phone`);
  };
  /** The text a person sees (hidden elements left out). */
  const visibleText = (page: Page) => page.innerText("main");

  const local = (paymentUrl: string) => paymentUrl; // the config's payPageUrl is the gateway itself
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

  it("pays a USDT order from the page: seen, confirming with a count, success with a receipt, then the redirect", async (t) => {
    if (noIngest) return t.skip(noIngest);
    const o = await createOrder();
    await fx.mint(fx.payer, 100_000_000n);
    const { page, calls, log } = await walletPage();
    await page.goto(local(o.paymentUrl));
    await waitState(page, 0);
    assert.equal(await page.getAttribute("html", "lang"), "en");
    assert.equal(await page.textContent("h1"), "Payment to Corner Coffee");
    assert.equal(await page.textContent("#amount"), "12.5");
    assert.equal(await page.textContent("#token-name"), "USDT · Tether USD");
    assert.equal(await page.textContent("#network"), "Hardhat local (chain 31337)");
    assert.equal(await page.textContent("#receipt"), o.receiptAddress);
    assert.match((await page.textContent("#network-warning"))!, /^Send only USDT on Hardhat local\./);
    assert.match((await page.textContent("#countdown"))!, /^(29|30):\d\d$/);
    assert.ok(await page.isVisible("#qr svg"));
    assert.equal(await page.isVisible("#back"), false, "no way out of an open order but paying");
    await state(page, "01-unpaid");

    await page.click("#pay-wallet");
    await waitText(page, "#wallet-msg, #status-title", /^(Sent\.|Payment seen)/, 20_000);
    assert.deepEqual(calls.slice(0, 4), ["eth_requestAccounts", "eth_chainId", "wallet_switchEthereumChain", "eth_sendTransaction"]);
    const txHash = log.find((c) => c.method === "eth_sendTransaction")!.result as string;
    const balance = await fx.publicClient.readContract({
      address: fx.token,
      abi: fx.tokenAbi,
      functionName: "balanceOf",
      args: [o.receiptAddress],
    });
    assert.equal(balance, 12_500_000n, "the page encoded transfer(receipt, 12.5 USDT)");

    await waitState(page, 2);
    await page.waitForSelector(`#tx-list a[href="${shopUrl}/explorer/tx/${txHash}"]`, { timeout: 10_000 });
    await state(page, "02-seen");
    await fx.mine(1);
    await waitState(page, 3);
    await waitText(page, "#status-detail", /\(2\/3\)/, 10_000);
    // nothing left to do but wait: no QR, address, wallet button or hint about them
    const confirming = await visibleText(page);
    assert.doesNotMatch(confirming, /scan|QR|wallet|Send exactly|Time left/i);
    assert.match(confirming, new RegExp(`${txHash}[\\s\\S]*seen, 12\\.5 USDT`));
    await state(page, "03-confirming");
    await fx.mine(1);
    await waitState(page, 4);
    assert.match((await page.textContent("#status-detail"))!, /Returning to the shop in 3 seconds/);
    // the receipt: amount, time, the transaction linked to the explorer; and the link back
    assert.equal(await page.textContent("#receipt-amount"), "12.5 USDT");
    assert.match((await page.textContent("#receipt-time"))!, /\d{4}/);
    assert.equal(await page.getAttribute("#receipt-tx a", "href"), `${shopUrl}/explorer/tx/${txHash}`);
    const back = new URL((await page.getAttribute("#back-link", "href"))!);
    assert.equal(back.origin + back.pathname, `${shopUrl}/done`);
    assert.equal(back.searchParams.get("state"), "4");
    await state(page, "04-success");
    const t0 = Date.now();
    await page.waitForURL((u) => u.pathname === "/done", { timeout: 15_000 });
    assert.ok(Date.now() - t0 >= 1_000, "the redirect waits a visible moment");
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.get("payOrderId"), o.payOrderId);
    assert.equal(landed.searchParams.get("state"), "4");
    await screenshot(page, SHOTS, "05-redirected-phone");
    await page.context().close();
  });

  it("a native-coin order paid from the wallet reaches success, in dark mode", async (t) => {
    if (noIngest) return t.skip(noIngest);
    const o = await createOrder({ token: "ETH", amount: "0.25", redirectionUrl: undefined });
    const { page } = await walletPage({ colorScheme: "dark" });
    await page.goto(local(o.paymentUrl));
    await waitState(page, 0);
    assert.equal(await page.textContent("#token-name"), "ETH · native coin of Hardhat local");
    const bg = await page.$eval("body", (b) => (globalThis as any).getComputedStyle(b).backgroundColor);
    assert.equal(bg, "rgb(14, 17, 22)", "dark colours when the system prefers them");
    await state(page, "12-dark-unpaid-eth");
    await page.click("#pay-wallet");
    await waitState(page, 2);
    await fx.mine(DEPTH);
    await waitState(page, 4);
    const balance = await fx.publicClient.getBalance({ address: o.receiptAddress as `0x${string}` });
    assert.equal(balance, 250_000_000_000_000_000n);
    assert.match((await page.textContent("#status-detail"))!, /close this page/);
    assert.equal(await page.textContent("#receipt-amount"), "0.25 ETH");
    assert.equal(await page.isVisible("#back"), false, "no shop link when the merchant named none");
    await state(page, "13-dark-success-eth");
    await page.context().close();
  });

  it("two wallets announced by EIP-6963: the payer picks one and only that one is asked", async (t) => {
    if (noIngest) return t.skip(noIngest);
    const o = await createOrder({ amount: "3" });
    await fx.mint(fx.payer, 3_000_000n);
    const { page, log } = await walletPage({ wallets: "eip6963" });
    await page.goto(local(o.paymentUrl));
    await waitState(page, 0);
    assert.equal(await page.isDisabled("#pay-wallet"), false, "discovered wallets enable the button without window.ethereum");
    await page.click("#pay-wallet");
    await page.waitForSelector("#wallet-picker:not(.hidden)");
    assert.deepEqual(await page.$$eval("#wallet-list button", (bs) => bs.map((b) => b.textContent)), ["Alpha Wallet", "Beta Wallet"]);
    assert.equal(await page.$$eval("#wallet-list img", (is) => is.length), 2);
    await state(page, "14-wallet-picker");
    assert.equal(log.length, 0, "no wallet is asked before the payer picks one");
    await page.click('#wallet-list button[data-rdns="test.beta"]');
    await waitState(page, 2);
    assert.ok(log.length >= 4);
    assert.deepEqual([...new Set(log.map((c) => c.wallet))], ["beta"]);
    await fx.mine(DEPTH);
    await waitState(page, 4);
    await page.context().close();
  });

  it("underpaid shows what is missing; failed, expired, cancelled and an invalid link show their pages with a way back", async () => {
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
    await page.reload();
    await waitState(page, 1);
    assert.equal(await page.textContent("#send-amount"), "6 USDT");
    assert.match((await page.getAttribute("#uri", "href"))!, /uint256=6000000$/, "the QR asks for what is missing");
    await state(page, "06-underpaid");

    // the underpaid order runs out of time: failed, with what arrived and the way back
    await db.query("UPDATE payment_orders SET expires_at = now() - interval '1 second' WHERE id = $1", [under.payOrderId]);
    await expireDuePaymentOrders(db, { poolCooldownSeconds: 60 });
    await page.goto(local(under.paymentUrl));
    await waitState(page, -1);
    assert.match((await page.textContent("#status-detail"))!, /Only 4 USDT arrived/);
    assert.equal(new URL((await page.getAttribute("#back-link", "href"))!).searchParams.get("state"), "-1");
    assert.ok(await page.isVisible("#back-link"));
    await state(page, "07-failed");

    const expired = await createOrder({ expireSeconds: 60 });
    await db.query("UPDATE payment_orders SET expires_at = now() - interval '1 second' WHERE id = $1", [expired.payOrderId]);
    await expireDuePaymentOrders(db, { poolCooldownSeconds: 60 });
    await page.goto(local(expired.paymentUrl));
    await waitState(page, -2);
    assert.equal(await page.textContent("#status-title"), "Expired");
    assert.equal(await page.isVisible("#pay-wallet"), false);
    assert.equal(await page.isVisible("#qr"), false);
    assert.ok(await page.isVisible("#back-link"));
    assert.equal(new URL((await page.getAttribute("#back-link", "href"))!).origin, shopUrl);
    await state(page, "08-expired");

    const cancelled = await createOrder();
    assert.equal((await call(gw, merchant, "POST", "payment/cancel", { outPaymentNo: cancelled.payOrderId })).status, 200);
    await page.goto(local(cancelled.paymentUrl));
    await waitState(page, -3);
    assert.equal(await page.textContent("#status-title"), "Cancelled");
    assert.equal(new URL((await page.getAttribute("#back-link", "href"))!).searchParams.get("state"), "-3");
    await state(page, "09-cancelled");
    await page.click("#back-link");
    await page.waitForURL((u) => u.pathname === "/done");

    const bad = new URL(cancelled.paymentUrl);
    bad.searchParams.set("accessSign", "0".repeat(64));
    const res = await page.goto(bad.toString());
    assert.equal(res!.status(), 404);
    assert.match((await page.textContent("h1"))!, /Link invalid/);
    assert.equal(await page.$("#receipt"), null);
    await state(page, "10-invalid-link");
    await page.context().close();
  });

  it("Simplified Chinese from Accept-Language, a language switch, and no wallet", async () => {
    const o = await createOrder({ amount: "8.8" });
    const { page } = await walletPage({ wallets: "none", locale: "zh-CN" });
    await page.goto(local(o.paymentUrl));
    await waitState(page, 0);
    assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
    assert.equal(await page.textContent("h1"), "向 Corner Coffee 付款");
    assert.equal(await page.textContent("#status-title"), "等待付款");
    assert.equal(await page.textContent("#status-detail"), "请向下方地址发送 8.8 USDT。");
    assert.match((await page.textContent("#network-warning"))!, /^只能通过 Hardhat local 发送 USDT/);
    assert.match((await page.textContent("#wallet-msg"))!, /未检测到浏览器钱包/);
    assert.equal(await page.isDisabled("#pay-wallet"), true);
    assert.equal(await page.getAttribute('.lang a[aria-current="page"]', "lang"), "zh-CN");
    await state(page, "15-zh-CN-unpaid-no-wallet");

    // dark and Chinese together, on a closed order
    await page.emulateMedia({ colorScheme: "dark" });
    assert.equal((await call(gw, merchant, "POST", "payment/cancel", { outPaymentNo: o.payOrderId })).status, 200);
    await page.reload();
    await waitState(page, -3);
    assert.equal(await page.textContent("#status-title"), "已取消");
    assert.equal(await page.textContent("#back-link"), "返回 Corner Coffee");
    await state(page, "16-zh-CN-dark-cancelled");

    // the switch: English, remembered for the next page
    await page.click('.lang a[lang="en"]');
    await waitState(page, -3);
    assert.equal(await page.getAttribute("html", "lang"), "en");
    assert.equal(await page.textContent("#status-title"), "Cancelled");
    const other = await createOrder();
    await page.goto(local(other.paymentUrl));
    await waitState(page, 0);
    assert.equal(await page.textContent("#status-title"), "Waiting for payment", "the choice outlives the link");
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
    await state(page, "17-qr-amount");
    await page.fill("#amount", "600");
    await page.click("#continue");
    assert.match((await page.textContent("#error"))!, /above the maximum of 500 USDT/);
    await state(page, "18-qr-amount-error");
    await page.fill("#amount", "3.75");
    await page.click("#continue");
    await waitState(page, 0);
    assert.equal(await page.textContent("#amount"), "3.75");
    assert.equal(new URL(page.url()).pathname, "/pay");
    await state(page, "19-qr-order");
    await page.context().close();
  });

  it("the payer switches network from the page; a payment sent to the first address afterwards is recorded on the order, not counted", async (t) => {
    if (noIngest) return t.skip(noIngest);
    const o = await createOrder({ amount: "5" });
    const { page } = await walletPage();
    await page.goto(local(o.paymentUrl));
    await waitState(page, 0);
    const options = await page.$$eval("#choice option", (els) =>
      els.map((e) => [e.getAttribute("value"), e.textContent, e.hasAttribute("selected")]),
    );
    assert.deepEqual(options, [
      [`31337:${fx.token.toLowerCase()}`, "USDT · Tether USD on Hardhat local", true],
      [`137:${USDT_137}`, "USDT · Tether USD on Polygon", false],
    ]);
    await state(page, "20-choose-network");
    await page.selectOption("#choice", `137:${USDT_137}`);
    await Promise.all([page.waitForURL((u) => u.searchParams.get("chainCode") === "polygon"), page.click("#choose-submit")]);
    await waitState(page, 0);
    assert.equal(await page.textContent("#network"), "Polygon (chain 137)");
    assert.match((await page.textContent("#network-warning"))!, /^Send only USDT on Polygon\./);
    assert.match((await page.textContent("#send-amount"))!, /^5 USDT$/);
    await state(page, "21-switched-network");

    // the payer's wallet still sends 1 USDT on the first network, to the first address: recorded, shown, not counted
    await fx.mint(fx.payer, 1_000_000n);
    const stray = await fx.write(fx.token, fx.tokenAbi, "transfer", [o.receiptAddress, 1_000_000n], fx.payer);
    await fx.mine(DEPTH);
    const d = await (async () => {
      for (let i = 0; i < 100; i++) {
        const x = (await call(gw, merchant, "GET", "payment/detail", { outPaymentNo: o.payOrderId })).body.data;
        if (x.transfers.some((tr: { status: string }) => tr.status === "confirmed")) return x;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error("the stray payment was never recorded");
    })();
    assert.deepEqual(
      d.transfers.map((x: { transferHash: string; chainId: number; counted: boolean }) => [x.transferHash, x.chainId, x.counted]),
      [[stray.transactionHash, 31337, false]],
    );
    assert.deepEqual([d.chainId, d.paymentStatus, d.paidAmount], [137, 1, "0"], "still waiting for USDT on Polygon");
    await page.reload();
    await waitState(page, 0);
    await page.waitForSelector(`#tx-list a[href="${shopUrl}/explorer/tx/${stray.transactionHash}"]`, { timeout: 10_000 });
    await state(page, "22-switched-stray-payment");
    await page.context().close();
  });

  it("a USD-priced order paid in USDT from the page: the price, rate, lock and source shown, success", async (t) => {
    if (noIngest) return t.skip(noIngest);
    const created = await call(gw, merchant, "POST", "payment/createPaymentOrder", {
      outTradeNo: `browser-fiat-${++seq}`,
      chainId: 31337,
      isLegalTender: 1,
      quoteCurrencySymbol: "USD",
      quoteAmount: "7.25",
      notifyUrl: `${shopUrl}/notify`,
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const o = created.body.data;
    await fx.mint(fx.payer, 7_250_000n);
    const { page } = await walletPage({ locale: "zh-CN" });
    await page.goto(o.paymentLink);
    await waitState(page, 0);
    assert.equal(await page.textContent("#fiat-price"), "7.25 USD");
    assert.equal(await page.textContent("#amount"), "7.25");
    assert.match((await page.textContent("#fiat-source"))!, /USDT\/USD/);
    await state(page, "27-fiat-usdt-zh-CN");
    await page.click("#pay-wallet");
    await waitState(page, 2);
    await fx.mine(DEPTH);
    await waitState(page, 4);
    const d = (await call(gw, merchant, "GET", "payment/detail", { outPaymentNo: o.outPaymentNo })).body.data;
    assert.deepEqual([d.paymentStatus, d.symbol, d.paidAmount, d.quoteAmount], [0, "USDT", "7250000", "7.25"]);
    await state(page, "28-fiat-usdt-paid-zh-CN");
    await page.context().close();
  });

  it("a USD-priced order: the payer switches from USDT to ETH (a stale feed refuses first), pays the re-quote from the wallet, success", async (t) => {
    if (noIngest) return t.skip(noIngest);
    const created = await call(gw, merchant, "POST", "payment/createPaymentOrder", {
      outTradeNo: `browser-fiat-${++seq}`,
      chainId: 31337,
      isLegalTender: 1,
      quoteCurrencySymbol: "USD",
      quoteAmount: "10.00",
      notifyUrl: `${shopUrl}/notify`,
      redirectionUrl: `${shopUrl}/done`,
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const o = created.body.data;
    assert.deepEqual([o.symbol, o.expectedAmount], ["USDT", "10000000"], "priced in the pegged stablecoin first");
    const { page, log } = await walletPage();
    await page.goto(o.paymentLink);
    await waitState(page, 0);
    assert.equal(await page.textContent("#fiat-price"), "10.00 USD");
    const options = await page.$$eval("#choice option", (els) => els.map((e) => e.textContent));
    assert.deepEqual(options, ["USDT · Tether USD on Hardhat local", "ETH on Hardhat local"], "every priced coin of a chain with pricing");
    await state(page, "23-fiat-usdt");

    // a stale ETH/USD round (older than its heartbeat): the switch is refused, nothing moves
    const feedAbi = artifact("contracts/mocks/MockAggregatorV3.sol/MockAggregatorV3.json").abi;
    const now = (await fx.publicClient.getBlock()).timestamp;
    await fx.write(feeds.eth, feedAbi, "setRound", [7n, 2000_00000000n, now - 7200n], fx.admin);
    await new Promise((r) => setTimeout(r, 1_100)); // the quoter takes a head as current for 1 s
    await page.selectOption("#choice", { label: "ETH on Hardhat local" });
    await Promise.all([page.waitForLoadState("load"), page.click("#choose-submit")]);
    await page.waitForSelector("#choose-error");
    assert.match((await page.textContent("#choose-error"))!, /no current price could be read/);
    assert.equal(await page.textContent("#amount"), "10", "still 10 USDT");
    await state(page, "24-fiat-stale-feed-refused");

    // a fresh round at 2,500 USD: 10 USD is 0.004 ETH
    await fx.write(feeds.eth, feedAbi, "setAnswer", [2500_00000000n], fx.admin);
    await new Promise((r) => setTimeout(r, 1_100));
    await page.selectOption("#choice", { label: "ETH on Hardhat local" });
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get("payOrderId") === o.outPaymentNo && u.pathname === "/pay"),
      page.click("#choose-submit"),
    ]);
    await waitState(page, 0);
    assert.equal(await page.textContent("#amount"), "0.004");
    assert.match((await page.textContent("#fiat-rate"))!, /1 ETH = 2,?500 USD/);
    const ethReceipt = (await page.textContent("#receipt"))!;
    assert.notEqual(ethReceipt, o.userWalletAddress);
    await state(page, "25-fiat-switched-to-eth");

    await page.click("#pay-wallet");
    await waitState(page, 2);
    const paid = log.find((c) => c.method === "eth_sendTransaction")!.result as string;
    assert.equal(
      await fx.publicClient.getBalance({ address: ethReceipt as `0x${string}` }),
      4n * 10n ** 15n,
      "0.004 ETH to the new address",
    );
    await fx.mine(DEPTH);
    await waitState(page, 4);
    const d = (await call(gw, merchant, "GET", "payment/detail", { outPaymentNo: o.outPaymentNo })).body.data;
    assert.deepEqual(
      [d.paymentStatus, d.symbol, d.paidAmount, d.quoteCurrencySymbol, d.quoteAmount],
      [0, "ETH", "4000000000000000", "USD", "10.00"],
    );
    assert.equal(d.transfers[0].transferHash, paid);
    await state(page, "26-fiat-paid-in-eth");
    await page.context().close();
  });

  it("no page met a CSP refusal or a script error, and axe-core checked every state", () => {
    assert.deepEqual(cspErrors, []);
    if (!noIngest) assert.ok(checked.length >= 17, `states checked: ${checked.join(", ")}`);
  });
});
