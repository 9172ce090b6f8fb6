/**
 * Batch approval in the merchant console, in a real browser (issue 15, approvals): Debian's chromium driven
 * by playwright-core, a `hardhat node` with the vault, the whole gateway. The payout signer selects three
 * pending payouts (a refund, a withdrawal, a settlement), the dialog lists each recipient and amount, ONE
 * eth_signTypedData_v4 of the vault's PayoutBatch approves them, and they are paid in one transaction.
 * The browser, the injected wallet and axe-core come from browserHarness.ts, as in console.browser.test.ts.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { getAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createPayClient, type PayClient } from "../../sdk/src/index.js";
import { resolveConfig, type GatewayConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { startGateway, type Gateway } from "../src/runtime/gateway.js";
import type { Db } from "../src/store/db.js";
import { createMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { axeAndShoot, chromiumMissing, eoaWallet, hardhatKey, launchChromium, until, walletPage } from "./browserHarness.js";
import { deployFixture, freePort, moverChainConfig, startHardhatNode, type Fixture, type HardhatNode } from "./chainHarness.js";

const SHOTS = path.resolve(import.meta.dirname, "../../test-results/console");
const admin = privateKeyToAccount(hardhatKey(0)); // the merchant's payout signer (and the operator)
const skip = chromiumMissing("console browser test");

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
      operatorKey: hardhatKey(0),
      allowPrivateWebhookTargets: true,
      chains: [await moverChainConfig(fx, "Hardhat local")],
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
    browser = await launchChromium();
  });

  after(async () => {
    clearInterval(miner);
    await browser?.close().catch(() => {});
    await gateway?.stop().catch(() => {});
    await db?.close().catch(() => {});
    node?.stop();
  });

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

    const { page, calls } = await walletPage(browser, { wallet: eoaWallet(admin), node, errors: pageErrors });
    await page.goto(`${base}/console`);
    await page.waitForURL(/\/console\/signin$/);
    await page.click("#signin");
    await page.waitForURL(/\/console\/overview$/, { timeout: 20_000 });
    await page.goto(`${base}/console/approvals`);
    assert.equal(await page.isDisabled("#approve-selected"), true, "nothing selected yet");
    const rows = page.locator("#approvals tbody tr");
    assert.equal(await rows.count(), 3);
    for (let i = 0; i < 3; i++) await rows.nth(i).locator("input[data-select]").check();
    const violations = await axeAndShoot(page, SHOTS, "batch-1-selected");
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
    violations.push(...(await axeAndShoot(page, SHOTS, "batch-2-dialog")));
    await page.click("#dlg-sign");
    await page.waitForURL(/\/console\/approvals\?done=approved$/, { timeout: 20_000 });
    assert.equal(calls.filter((c) => c === "eth_signTypedData_v4").length, 1, "one wallet signature for the three");
    assert.equal((await page.locator("#approvals tbody tr").count()) === 0 || (await page.isVisible("#approvals-empty")), true);
    violations.push(...(await axeAndShoot(page, SHOTS, "batch-3-approved")));
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
