/**
 * Batch approval in the merchant console, in a real browser (issue 15, approvals): Debian's chromium driven
 * by playwright-core, a `hardhat node` with the vault, the whole gateway. The payout signer selects three
 * pending payouts (a refund, a withdrawal, a settlement), the dialog lists each recipient and amount, ONE
 * eth_signTypedData_v4 of the vault's PayoutBatch approves them, and they are paid in one transaction.
 * (Kept apart from console.browser.test.ts, which is being reworked on main; same harness, same wallet idea.)
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { getAddress, type Address, type Hex } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { createPayClient, type PayClient } from "../../sdk/src/index.js";
import { resolveConfig, type GatewayConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { startGateway, type Gateway } from "../src/runtime/gateway.js";
import type { Db } from "../src/store/db.js";
import { createMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { deployFixture, freePort, startHardhatNode, type Fixture, type HardhatNode } from "./chainHarness.js";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = path.resolve(import.meta.dirname, "../../test-results/console");
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core (WCAG 2 A/AA and best practice) on the page as it is, then screenshots at phone and desktop size. */
async function shoot(page: Page, name: string): Promise<string[]> {
  mkdirSync(SHOTS, { recursive: true });
  const violations: string[] = [];
  for (const [size, viewport] of [
    ["phone", { width: 390, height: 844 }],
    ["desktop", { width: 1280, height: 900 }],
  ] as const) {
    await page.setViewportSize(viewport);
    await page.evaluate(axeSource);
    const result = (await page.evaluate(
      `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } })`,
    )) as { violations: { id: string; nodes: { target: string[] }[] }[] };
    for (const v of result.violations)
      violations.push(`${name} (${size}): ${v.id} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    await page.screenshot({ path: path.join(SHOTS, `${name}-${size}.png`), fullPage: true });
  }
  return violations;
}
const MNEMONIC = "test test test test test test test test test test test junk";
const NATIVE = "0x0000000000000000000000000000000000000000" as Address;
const keyOf = (i: number) =>
  `0x${Buffer.from(mnemonicToAccount(MNEMONIC, { addressIndex: i }).getHdKey().privateKey!).toString("hex")}` as Hex;
const admin = privateKeyToAccount(keyOf(0)); // the merchant's payout signer (and the operator)
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: install Debian's chromium to run the console browser test`;

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end)
      assert.fail(`timed out waiting for ${what}: ${JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x))}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** eth_signTypedData_v4's JSON as viem signs it: integers (also inside arrays of structs) back to bigints. */
function typedFromWallet(json: string) {
  const typed = JSON.parse(json);
  const { EIP712Domain: _, ...types } = typed.types as Record<string, { name: string; type: string }[]>;
  const convert = (type: string, v: any): any => {
    if (type.endsWith("[]")) return (v as any[]).map((x) => convert(type.slice(0, -2), x));
    if (types[type]) return Object.fromEntries(types[type]!.map((f) => [f.name, convert(f.type, v[f.name])]));
    return /^u?int/.test(type) ? BigInt(v) : v;
  };
  return {
    domain: { ...typed.domain, chainId: Number(typed.domain.chainId) },
    types,
    primaryType: typed.primaryType,
    message: convert(typed.primaryType, typed.message),
  };
}

describe("console: approve three payouts with one wallet signature (chromium, hardhat node)", { skip, timeout: 300_000 }, () => {
  let node: HardhatNode;
  let fx: Fixture;
  let db: Db;
  let config: GatewayConfig;
  let gateway: Gateway;
  let browser: Browser;
  let client: PayClient;
  let base: string;
  let miner: NodeJS.Timeout | undefined;
  const pageErrors: string[] = [];

  before(async () => {
    node = await startHardhatNode();
    fx = await deployFixture(node);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    config = resolveConfig({
      masterKey: randomBytes(32),
      host: "127.0.0.1",
      port,
      payPageUrl: `${base}/pay`,
      logLevel: "silent",
      operatorKey: keyOf(0),
      allowPrivateWebhookTargets: true,
      chains: [
        {
          chainId: 31337,
          code: "local",
          name: "Hardhat local",
          vault: fx.vault,
          confirmations: 2,
          rpcUrl: node.url,
          startBlock: Number(await fx.blockNumber()),
          tokens: [
            { symbol: "USDT", address: fx.token, decimals: 6, priceWei: "333333333" },
            { symbol: "ETH", address: NATIVE, decimals: 18 },
          ],
        },
      ],
    });
    db = await openStore({ pgliteDir: "memory://" });
    const m = await createMerchant(db, createSecretBox(config.masterKey), {
      id: fx.merchantId,
      name: "Corner Coffee",
      feeBps: 100,
      payoutSigner: fx.admin,
    });
    gateway = await startGateway({ config, db, pollIntervalMs: 100, moverIntervalMs: 300, retryScheduleMs: [300] });
    client = createPayClient({ baseUrl: gateway.url!, apiKey: m.apiKey, apiSecret: m.apiSecret });
    miner = setInterval(() => void node.rpc("evm_mine").catch(() => {}), 250);
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
    });
  });

  after(async () => {
    clearInterval(miner);
    await browser?.close().catch(() => {});
    await gateway?.stop().catch(() => {});
    await db?.close().catch(() => {});
    node?.stop();
  });

  /** A page whose injected EIP-1193 wallet signs as the payout signer and forwards the rest to the node. */
  async function walletPage(): Promise<{ page: Page; calls: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const calls: string[] = [];
    page.on("console", (msg) => {
      if (msg.type() === "error" && /Content Security Policy|Refused to/.test(msg.text())) pageErrors.push(msg.text());
    });
    page.on("pageerror", (e) => pageErrors.push(`page error: ${e.message}`));
    await page.exposeFunction("__walletRpc", async (method: string, params: any[]) => {
      calls.push(method);
      try {
        switch (method) {
          case "eth_requestAccounts":
          case "eth_accounts":
            return { result: [admin.address] };
          case "eth_chainId":
            return { result: "0x7a69" };
          case "personal_sign":
            return { result: await admin.signMessage({ message: { raw: params[0] } }) };
          case "eth_signTypedData_v4":
            return { result: await admin.signTypedData(typedFromWallet(params[1]) as any) };
          default:
            return { result: await node.rpc(method, params) };
        }
      } catch (e) {
        return { error: { code: -32000, message: (e as Error).message } };
      }
    });
    await page.addInitScript(() => {
      const g = globalThis as unknown as {
        __walletRpc(m: string, p: unknown[]): Promise<{ result?: unknown; error?: { code: number; message: string } }>;
        ethereum: unknown;
      };
      g.ethereum = {
        async request({ method, params }: { method: string; params?: unknown[] }) {
          const r = await g.__walletRpc(method, params ?? []);
          if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code });
          return r.result;
        },
        on() {},
        removeListener() {},
      };
    });
    return { page, calls };
  }

  it("selects a refund, a withdrawal and a settlement, sees each recipient and amount, signs once, and they are paid in one transaction", async () => {
    // 10 USDT paid and swept into the vault
    const order = await client.payment.create({
      outTradeNo: "cb-1",
      chainId: 31337,
      quoteCurrencySymbol: "USDT",
      quoteAmount: "10",
      notifyUrl: "http://127.0.0.1:9/none",
    });
    await fx.mint(fx.payer, 100_000_000n);
    await fx.write(fx.token, fx.tokenAbi, "transfer", [order.userWalletAddress, 10_000_000n], fx.payer);
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
      60_000,
    );
    const usdt = (await client.conf.currencies({ chainId: 31337 })).find((c) => c.symbol === "USDT")!;
    const [to3, to4, to5] = [getAddress(fx.accounts[3]!), getAddress(fx.accounts[4]!), getAddress(fx.accounts[5]!)];
    const { refundId } = await client.refund.create({ outTradeNo: "cb-1", outRefundNo: "cbr-1", refundAmount: "1.25", refundAddress: to3 });
    const { withdrawId } = await client.withdraw.apply({
      outTradeNo: "cbw-1",
      chainId: 31337,
      currencyId: usdt.currencyId,
      withdrawAmount: "2",
      withdrawAddress: to4,
    });
    const { settlementId } = await client.request<{ settlementId: number }>("POST", "settlement/apply", {
      outTradeNo: "cbs-1",
      chainId: 31337,
      currencyId: usdt.currencyId,
      settlementAmount: "0.5",
      settlementAddress: to5,
    });

    const { page, calls } = await walletPage();
    await page.goto(`${base}/console`);
    await page.waitForURL(/\/console\/signin$/);
    await page.click("#signin");
    await page.waitForURL(/\/console\/overview$/, { timeout: 20_000 });
    await page.goto(`${base}/console/approvals`);
    assert.equal(await page.isDisabled("#approve-selected"), true, "nothing selected yet");
    const rows = page.locator("#approvals tbody tr");
    assert.equal(await rows.count(), 3);
    for (let i = 0; i < 3; i++) await rows.nth(i).locator("input[data-select]").check();
    const violations = await shoot(page, "batch-1-selected");
    await page.click("#approve-selected");
    await page.waitForSelector("#approve-dialog[open]");
    await page.waitForSelector("#dlg-items tr");
    const listed = await page.locator("#dlg-items tr").allTextContents();
    assert.equal(listed.length, 3, "every payout of the batch is listed before signing");
    for (const [to, amount] of [
      [to3, "1.25"],
      [to4, "2"],
      [to5, "0.5"],
    ] as const) {
      assert.ok(
        listed.some((r) => r.includes(to) && r.includes(amount)),
        `${to} ${amount} in ${JSON.stringify(listed)}`,
      );
    }
    assert.match((await page.textContent("#dlg-batch-intro"))!, /3 payouts/);
    assert.equal(await page.isVisible("#dlg-to"), false, "the one-payout facts are hidden for a batch");
    violations.push(...(await shoot(page, "batch-2-dialog")));
    await page.click("#dlg-sign");
    await page.waitForURL(/\/console\/approvals\?done=approved$/, { timeout: 20_000 });
    assert.equal(calls.filter((c) => c === "eth_signTypedData_v4").length, 1, "one wallet signature for the three");
    assert.equal((await page.locator("#approvals tbody tr").count()) === 0 || (await page.isVisible("#approvals-empty")), true);
    violations.push(...(await shoot(page, "batch-3-approved")));
    assert.deepEqual(violations, [], "axe-core on every state of the batch approval");

    const r = await until(
      "refund paid",
      () => client.refund.detail({ refundId }),
      (d) => d.state === 3,
      60_000,
    );
    const w = await until(
      "withdrawal paid",
      () => client.withdraw.detail({ withdrawId }),
      (d) => d.state === 3,
      60_000,
    );
    const s = await until(
      "settlement paid",
      () => client.request<any>("GET", "settlement/detail", { settlementId: String(settlementId) }),
      (d) => d.state === 3,
      60_000,
    );
    assert.equal(r.transferHash, w.transferHash);
    assert.equal(s.transferHash, r.transferHash, "paid in one transaction");
    const [batch] = await db.query("SELECT approved_by, lines FROM payout_batches");
    assert.deepEqual([batch!.approved_by, Number(batch!.lines)], ["merchant", 3]);
    assert.deepEqual(pageErrors, [], "no CSP refusal or script error");
  });
});
