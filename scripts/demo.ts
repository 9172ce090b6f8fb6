/**
 * `npm run demo`: the whole product on embedded defaults, with no configuration.
 *
 * Starts an in-process chain (Hardhat's EDR, served as JSON-RPC on 127.0.0.1), deploys the vault and a
 * USDT-style token (no return value), starts the gateway on PGlite (API, chain follower, notifier, sweeper,
 * payout executor, expiry), creates a merchant with a sample merchant server that verifies every callback,
 * and runs the seeds' flows through the merchant SDK: payments in USDT and ETH, a partial payment topped
 * up, an expired order paid late, a cancelled order, two partial refunds paid on chain, a user's recharge
 * address with two deposits, a withdrawal to two recipients, the sweeps, a settlement, the callbacks (Pay
 * Protocol's, verified by X-PAY-SIGN), a statement and a reconciliation.
 * Prints a timeline and a summary table; exits 0 only if every check held.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseEther, parseUnits } from "ethers";
import { network } from "hardhat";
import { createPublicClient, formatUnits, http, type Address, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { createMerchantServer } from "../sdk/examples/merchant-server.js";
import { createPayClient, typedDataToSign, type PayClient } from "../sdk/src/index.js";
import { resolveConfig } from "../indexer/src/config.js";
import { createSecretBox } from "../indexer/src/crypto/secretBox.js";
import { collectReconciliation, compareReconciliation, formatMismatches } from "../indexer/src/jobs/reconcile.js";
import { startGateway } from "../indexer/src/runtime/gateway.js";
import { createMerchant } from "../indexer/src/store/merchants.js";
import { deployVault } from "./lib/deploy.js";
import { startRpcBridge } from "./lib/rpcBridge.js";
import { NATIVE } from "./lib/vault.js";

const started = performance.now();
const elapsed = () => ((performance.now() - started) / 1000).toFixed(1).padStart(5);
const failures: string[] = [];
let checks = 0;
function check(what: string, ok: boolean, detail = "") {
  checks++;
  if (!ok) failures.push(`${what}${detail ? ` (${detail})` : ""}`);
  console.log(`  ${elapsed()}s ${ok ? "ok  " : "FAIL"} ${what}${detail && !ok ? ` — ${detail}` : ""}`);
}
const say = (line: string) => console.log(`  ${elapsed()}s ${line}`);
const section = (title: string) => console.log(`\n== ${title}`);

async function waitFor<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline) {
      failures.push(`timed out waiting for ${what}`);
      console.log(
        `  ${elapsed()}s FAIL timed out waiting for ${what}: ${JSON.stringify(last, (_k, v) => (typeof v === "bigint" ? v.toString() : v)).slice(0, 300)}`,
      );
      return last;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

// ------------------------------------------------------------------ chain
section("1. chain and contracts");
const connection = await network.create("hardhatMainnet");
const { ethers } = connection;
const [deployer, operator, feeRecipient, merchantSigner, payer, customer, treasury] = await ethers.getSigners();
const MNEMONIC = "test test test test test test test test test test test junk";
const keyOf = (index: number): Hex => {
  const account = mnemonicToAccount(MNEMONIC, { addressIndex: index });
  return `0x${Buffer.from(account.getHdKey().privateKey!).toString("hex")}`;
};
const operatorKey = keyOf(1);
const merchantSignerAccount = mnemonicToAccount(MNEMONIC, { addressIndex: 3 });
check(
  "operator and merchant signer keys match the chain's accounts",
  mnemonicToAccount(MNEMONIC, { addressIndex: 1 }).address === operator.address && merchantSignerAccount.address === merchantSigner.address,
);
const bridge = await startRpcBridge(connection.provider as any);
say(`in-process chain 31337 served at ${bridge.url}`);
// a block every 250 ms, as on a real chain (transactions are also mined as they arrive)
const miner = setInterval(() => void connection.provider.request({ method: "evm_mine", params: [] }).catch(() => {}), 250);

const deployed = await deployVault(ethers, deployer, {
  admin: deployer.address,
  operator: operator.address,
  feeRecipient: feeRecipient.address,
});
const vault = await ethers.getContractAt("PaymentVault", deployed.vault, deployer);
const usdt = await ethers.deployContract("MockTetherToken");
await usdt.waitForDeployment();
const usdtAddress = (await usdt.getAddress()) as Address;
await (await usdt.setParams(0, 0)).wait();
const MERCHANT = 42n;
await (await vault.registerMerchant(MERCHANT, merchantSigner.address, 100)).wait();
await (await vault.setTokenAllowed(usdtAddress, true)).wait();
await (await vault.setTokenAllowed(NATIVE, true)).wait();
await (await usdt.mint(payer.address, parseUnits("1000", 6))).wait();
say(
  `PaymentVault ${deployed.vault} (block ${deployed.blockNumber}), USDT-style token ${usdtAddress}, merchant ${MERCHANT} registered (fee 1%)`,
);

// ------------------------------------------------------------------ gateway
section("2. gateway on PGlite");
const dataDir = mkdtempSync(path.join(tmpdir(), "evm-pay-demo-"));
const port = await freePort();
const config = resolveConfig({
  masterKey: randomBytes(32),
  pgliteDir: path.join(dataDir, "pglite"),
  host: "127.0.0.1",
  port,
  payPageUrl: `http://127.0.0.1:${port}/pay`,
  logLevel: "warn",
  operatorKey,
  allowPrivateWebhookTargets: true, // the sample merchant server listens on 127.0.0.1
  minOrderTtlSeconds: 3,
  poolCooldownSeconds: 2,
  chains: [
    {
      chainId: 31337,
      code: "local",
      name: "Hardhat (in-process)",
      vault: deployed.vault as Address,
      confirmations: 2,
      rpcUrl: bridge.url,
      startBlock: Number(deployed.blockNumber),
      tokens: [
        { symbol: "USDT", address: usdtAddress, decimals: 6, priceWei: "333333333" }, // 1 ETH = 3,000 USDT
        { symbol: "ETH", address: NATIVE as Address, decimals: 18 },
      ],
    },
  ],
});
const gateway = await startGateway({
  config,
  pollIntervalMs: 100,
  retryScheduleMs: [250, 500, 1_000, 2_000],
  moverIntervalMs: 400,
  expiryIntervalMs: 500,
});
say(`gateway at ${gateway.url} (PGlite in ${dataDir})`);

const shopPort = await freePort();
const shopUrl = `http://127.0.0.1:${shopPort}`;
const created = await createMerchant(gateway.db, createSecretBox(config.masterKey), {
  id: MERCHANT,
  name: "Demo Shop",
  feeBps: 100,
  payoutSigner: merchantSigner.address,
  payoutKeyMode: "merchant",
  rechargeNotifyUrl: `${shopUrl}/callbacks/pay`,
});
const client: PayClient = createPayClient({ baseUrl: gateway.url!, apiKey: created.apiKey, apiSecret: created.apiSecret });
const shop = createMerchantServer({
  client,
  apiSecret: created.apiSecret,
  webhookSecret: created.webhookSecret,
  publicUrl: shopUrl,
  chainId: 31337,
});
await new Promise<void>((r) => shop.server.listen(shopPort, "127.0.0.1", r));
say(
  `merchant ${MERCHANT} created (API key ${created.apiKey.slice(0, 10)}…, API secret and whsec_… webhook secret shown once); sample merchant server at ${shopUrl}`,
);
const notifyUrl = `${shopUrl}/callbacks/pay`;
const health = (await (await fetch(`${gateway.url}/health`)).json()) as { ok: boolean; chains?: { running: boolean }[] };
check("gateway health: store and follower up", health.ok === true && health.chains?.[0]?.running === true, JSON.stringify(health));
const chains = await client.conf.chains();
const currencies = await client.conf.currencies({ chainId: 31337 });
const currencyId = (symbol: string) => currencies.find((c) => c.symbol === symbol)!.currencyId;
check(
  "conf/list/chain names the chain by its EVM chain id; conf/list/currency numbers USDT and ETH",
  chains[0]?.chainId === 31337 && currencies.length === 2,
);

const summary: { what: string; kind: string; state: string; amount: string; detail: string }[] = [];
const detail = (outTradeNo: string) => client.payment.detail({ outTradeNo });
const callbacks = (kind: string, pred: (d: any) => boolean = () => true) => shop.received.filter((e) => e.kind === kind && pred(e.data));
const usdtUnits = (a: string) => parseUnits(a, 6).toString();
const human = (units: string, decimals: number) => formatUnits(BigInt(units), decimals);

// ------------------------------------------------------------------ payments
section("3. payments (Pay Protocol's createPaymentOrder, detail, callbacks)");
const newOrder = (outTradeNo: string, symbol: string, quoteAmount: string, extra: Record<string, unknown> = {}) =>
  client.payment.create({
    chainId: 31337,
    outTradeNo,
    description: `demo order ${outTradeNo}`,
    isLegalTender: 0,
    quoteCurrencySymbol: symbol,
    quoteAmount,
    notifyUrl,
    ...extra,
  });
const p1 = await newOrder("A-1001", "USDT", "25.00", { redirectionUrl: `${shopUrl}/thanks` });
say(
  `order A-1001: 25.00 USDT to ${p1.userWalletAddress} (saltHash ${p1.saltHash.slice(0, 12)}…), pay page ${p1.paymentLink.slice(0, 60)}…`,
);
const page = await fetch(p1.paymentLink);
check("hosted payment page served for the order", page.status === 200 && (await page.text()).includes(p1.userWalletAddress.slice(2, 10)));
await (await usdt.connect(payer).transfer(p1.userWalletAddress, usdtUnits("25"))).wait();
say("payer sent 25 USDT (a token that returns nothing, like USDT)");
const d1 = await waitFor(
  "A-1001 paid",
  () => detail("A-1001"),
  (d) => d.paymentStatus === 0,
);
check("A-1001 paid (paymentStatus 0, state 4) after 2 confirmations", d1.state === 4 && d1.settlementAmount === usdtUnits("25"));
check("payer recorded for refunds", d1.fromAddress?.toLowerCase() === payer.address.toLowerCase());

const p2 = await newOrder("A-1002", "ETH", "0.05");
await (await payer.sendTransaction({ to: p2.userWalletAddress, value: parseEther("0.05") })).wait();
say("payer sent 0.05 ETH from a plain wallet transfer");
const d2 = await waitFor(
  "A-1002 paid",
  () => detail("A-1002"),
  (d) => d.paymentStatus === 0,
);
check("A-1002 (native coin) paid", d2.state === 4);

const p3 = await newOrder("A-1003", "USDT", "10.00");
await (await usdt.connect(payer).transfer(p3.userWalletAddress, usdtUnits("4"))).wait();
const d3a = await waitFor(
  "A-1003 partially paid",
  () => detail("A-1003"),
  (d) => d.paymentStatus === 3,
);
check("A-1003 underpaid 4 of 10: partially paid (3)", d3a.state === 1 && d3a.seenAmount === usdtUnits("4"));
await (await usdt.connect(payer).transfer(p3.userWalletAddress, usdtUnits("6"))).wait();
const d3 = await waitFor(
  "A-1003 paid",
  () => detail("A-1003"),
  (d) => d.paymentStatus === 0,
);
check("A-1003 topped up with 6: paid", d3.state === 4 && d3.settlementAmount === usdtUnits("10"));

const p4 = await newOrder("A-1004", "USDT", "5.00", { expireSeconds: 3 });
const d4a = await waitFor(
  "A-1004 expired",
  () => detail("A-1004"),
  (d) => d.state === -2,
  15_000,
);
check("A-1004 unpaid past its expiry: expired (state -2, paymentStatus 4)", d4a.state === -2 && d4a.paymentStatus === 4);
await (await usdt.connect(payer).transfer(p4.userWalletAddress, usdtUnits("5"))).wait();
const d4 = await waitFor(
  "A-1004 late payment recorded",
  () => detail("A-1004"),
  (d) => d.transfers.some((t) => t.late) && d.lateAmount === usdtUnits("5"),
);
check("A-1004 late payment of 5 USDT recorded and shown, order stays expired", d4.state === -2 && d4.lateAmount === usdtUnits("5"));

const p5 = await newOrder("A-1005", "USDT", "7.00");
const d5 = await client.payment.cancel({ outTradeNo: "A-1005" });
check("A-1005 cancelled (state -3) while unpaid", d5.state === -3);
for (const d of [d1, d2, d3, d4, d5]) {
  summary.push({
    what: d.outTradeNo,
    kind: "payment",
    state: `${d.paymentStatus}/${d.state}`,
    amount: `${d.quoteAmount} ${d.quoteCurrencySymbol}`,
    detail: `paid ${human(d.settlementAmount, d.decimals)}${d.lateAmount !== "0" ? `, late ${human(d.lateAmount, d.decimals)}` : ""}`,
  });
}
check("the five orders are in payment/list", (await client.payment.list({ size: 10 })).count === 5);
void p5;

// ------------------------------------------------------------------ sweeps
section("4. sweeps into the vault");
const account = async (token: string) => {
  const [balance, fee] = await vault.accountOf(MERCHANT, token);
  return { balance: BigInt(balance), fee: BigInt(fee) };
};
const usdtAccount = await waitFor(
  "USDT swept (35 USDT)",
  () => account(usdtAddress),
  (a) => a.balance + a.fee === parseUnits("35", 6),
);
check(
  "sweeper moved the 25 + 10 USDT paid into the vault: merchant credited 34.65, fee 0.35",
  usdtAccount.balance === parseUnits("34.65", 6) && usdtAccount.fee === parseUnits("0.35", 6),
  `${usdtAccount.balance}/${usdtAccount.fee}`,
);
const lateHeld = await gateway.db.query(
  `SELECT 1 FROM chain_deposits d JOIN sweep_items i USING (chain_id, tx_hash, log_index) WHERE d.to_address = $1 AND i.sweep_id IS NOT NULL`,
  [p4.userWalletAddress.toLowerCase()],
);
check("the late 5 USDT waits: sweeping it alone would cost more gas than 5% of its value", lateHeld.length === 0);
const ethAccount = await waitFor(
  "ETH swept",
  () => account(NATIVE),
  (a) => a.balance + a.fee === parseEther("0.05"),
);
check("native payment swept: 0.0495 ETH credited, 0.0005 fee", ethAccount.balance === parseEther("0.0495"));
const sweepRows = await waitFor(
  "sweeps confirmed",
  () =>
    gateway.db.query<{ token: string; status: string; credited: string | null; fee: string | null; tx_hash: string | null }>(
      "SELECT token, status, credited, fee, tx_hash FROM sweeps ORDER BY created_at",
    ),
  (rows) => rows.length >= 2 && rows.every((r) => r.status === "confirmed"),
);
check("every sweep confirmed from the vault's Swept events", sweepRows.length >= 2 && sweepRows.every((r) => r.status === "confirmed"));

// ------------------------------------------------------------------ refunds
section("5. two partial refunds of A-1001, approved and paid on chain");
const payerBefore = BigInt(await usdt.balanceOf(payer.address));
const refundIds: number[] = [];
for (const [id, amount] of [
  ["R-1", "5.00"],
  ["R-2", "7.50"],
] as const) {
  const { refundId } = await client.refund.create({
    outTradeNo: "A-1001",
    outRefundNo: id,
    refundAmount: amount,
    reason: "customer request",
  });
  const r = await client.refund.detail({ refundId });
  const signature = await merchantSignerAccount.signTypedData(typedDataToSign(r.lines[0]!.payoutTypedData!));
  await client.refund.approve({ refundId, signature });
  say(
    `refund ${id} (refundId ${refundId}) of ${amount} USDT to the payer (payout id ${r.lines[0]!.payoutId}), signed by the merchant's payout key, approved`,
  );
  refundIds.push(refundId);
}
for (const refundId of refundIds) {
  const done = await waitFor(
    `refund ${refundId} success`,
    () => client.refund.detail({ refundId }),
    (d) => d.refundStatus === 0,
  );
  check(`refund ${done.outRefundNo} paid on chain and confirmed (refundStatus 0)`, done.state === 3 && !!done.transferHash);
  summary.push({
    what: done.outRefundNo!,
    kind: "refund",
    state: `${done.refundStatus}/${done.state}`,
    amount: `${human(done.refundAmount, 6)} USDT`,
    detail: `tx ${done.transferHash?.slice(0, 10)}…`,
  });
}
check("payer received 12.50 USDT back", BigInt(await usdt.balanceOf(payer.address)) - payerBefore === parseUnits("12.5", 6));
const afterRefunds = await detail("A-1001");
check(
  "A-1001 shows refunded 12.5, refundable 12.5",
  afterRefunds.refundedAmount === usdtUnits("12.5") && afterRefunds.refundableAmount === usdtUnits("12.5"),
);
let refused = false;
try {
  await client.refund.create({ outTradeNo: "A-1001", outRefundNo: "R-3", refundAmount: "13.00" });
} catch {
  refused = true;
}
check("a third refund above what is refundable is refused", refused);

// ------------------------------------------------------------------ recharge
section("6. a user's fixed recharge address, two deposits");
const userId = await client.user.create({ uuid: "user-7" });
const user = await client.user.detail({ userId });
const rechargeAddress = user.userWallet[0]!.walletAddress;
say(`user-7 (userId ${userId}) recharge address ${rechargeAddress}`);
await (await usdt.connect(payer).transfer(rechargeAddress, usdtUnits("3"))).wait();
await (await usdt.connect(payer).transfer(rechargeAddress, usdtUnits("4"))).wait();
const recharges = await waitFor(
  "two recharges at success",
  () => client.recharge.list({ uuid: "user-7" }),
  (p) => p.list.length === 2 && p.list.every((r) => r.rechargeStatus === 0),
);
check("two recharge orders succeeded (rechargeStatus 0)", recharges.list.length === 2 && recharges.list.every((r) => r.state === 4));
for (const r of recharges.list)
  summary.push({
    what: `recharge ${r.rechargeId}`,
    kind: "recharge",
    state: `${r.rechargeStatus}/${r.state}`,
    amount: `${human(r.rechargeAmount, 6)} ${r.symbol}`,
    detail: "user-7",
  });
const afterRecharges = await waitFor(
  "recharges swept",
  () => account(usdtAddress),
  (a) => a.balance + a.fee === parseUnits("47", 6) - parseUnits("12.5", 6),
);
check(
  "the recharges and the late 5 USDT were swept together once worth their gas (47 USDT in all, less 12.50 refunded)",
  afterRecharges.balance + afterRecharges.fee === parseUnits("34.5", 6),
);

// ------------------------------------------------------------------ withdrawal
section("7. a withdrawal to two recipients, approved with ONE batch signature and paid in one transaction");
const customerBefore = BigInt(await usdt.balanceOf(customer.address));
const treasuryUsdtBefore = BigInt(await usdt.balanceOf(treasury.address));
const { withdrawId } = await client.withdraw.apply({
  outTradeNo: "W-1",
  chainId: 31337,
  currencyId: currencyId("USDT"),
  withdrawAddress: `${customer.address},${treasury.address}`,
  withdrawAmount: "2.00,1.25",
});
const wPending = await client.withdraw.detail({ withdrawId });
// one EIP-712 PayoutBatch over every line (the wallet lists each recipient and amount), sent as one vault.payoutBatch
const wBatch = await client.request<{ payoutTypedData: any; items: { toAddress: string; amount: string }[] }>(
  "GET",
  "payout/batch/typedData",
  { withdrawIds: String(withdrawId) },
);
const wSignature = await merchantSignerAccount.signTypedData(typedDataToSign(wBatch.payoutTypedData));
await client.request("POST", "payout/batch/approve", { withdrawIds: String(withdrawId), signature: wSignature });
say(
  `withdrawal W-1 (withdrawId ${withdrawId}): ${wPending.lines.length} lines, payout ids ${wPending.lines.map((l) => l.payoutId).join(", ")}, one batch signature for ${wBatch.items.map((i) => `${i.toAddress.slice(0, 10)}… ${human(i.amount, 6)}`).join(" and ")}`,
);
const wDone = await waitFor(
  "withdrawal success",
  () => client.withdraw.detail({ withdrawId }),
  (d) => d.withdrawStatus === 0,
);
check(
  "withdrawal W-1's two payouts went out in one transaction",
  wDone.lines.length === 2 && !!wDone.lines[0]!.transferHash && wDone.lines[0]!.transferHash === wDone.lines[1]!.transferHash,
);
check(
  "withdrawal W-1 paid both recipients and confirmed (withdrawStatus 0)",
  BigInt(await usdt.balanceOf(customer.address)) - customerBefore === parseUnits("2", 6) &&
    BigInt(await usdt.balanceOf(treasury.address)) - treasuryUsdtBefore === parseUnits("1.25", 6),
);
summary.push({
  what: "W-1",
  kind: "withdrawal",
  state: `${wDone.withdrawStatus}/${wDone.state}`,
  amount: `${wDone.withdrawAmount
    .split(",")
    .map((a) => human(a, 6))
    .join(" + ")} USDT`,
  detail: `${wDone.lines.length} recipients, one batch signature and transaction`,
});

// ------------------------------------------------------------------ settlement
section("8. merchant settlement");
const treasuryBefore = await ethers.provider.getBalance(treasury.address);
const { settlementId } = await client.settlement.apply({
  outTradeNo: "S-1",
  chainId: 31337,
  currencyId: currencyId("ETH"),
  settlementAmount: "0.04",
  settlementAddress: treasury.address,
});
const sPending = await client.settlement.detail({ settlementId });
await client.settlement.approve({
  settlementId,
  signature: await merchantSignerAccount.signTypedData(typedDataToSign(sPending.lines[0]!.payoutTypedData!)),
});
const sDone = await waitFor(
  "settlement success",
  () => client.settlement.detail({ settlementId }),
  (d) => d.settlementStatus === 0,
);
check(
  "settlement S-1 of 0.04 ETH paid to the merchant's treasury",
  sDone.state === 3 && (await ethers.provider.getBalance(treasury.address)) - treasuryBefore === parseEther("0.04"),
);
summary.push({
  what: "S-1",
  kind: "settlement",
  state: `${sDone.settlementStatus}/${sDone.state}`,
  amount: `${human(sDone.settlementAmount, 18)} ETH`,
  detail: `to ${treasury.address.slice(0, 10)}…`,
});

// ------------------------------------------------------------------ callbacks
section("9. callbacks (Pay Protocol's: X-PAY-SIGN with the API secret, acknowledged with success)");
await waitFor(
  "every callback delivered",
  () => gateway.db.query<{ n: string }>("SELECT count(*) AS n FROM outbox_events WHERE delivered_at IS NULL"),
  (r) => r[0]!.n === "0",
  15_000,
);
const paidOnce = (outTradeNo: string) => callbacks("payment", (d) => d.outTradeNo === outTradeNo && d.paymentStatus === 0).length === 1;
check("each paid order's paid callback arrived once, verified (X-PAY-SIGN)", ["A-1001", "A-1002", "A-1003"].every(paidOnce));
check(
  "the partial payment, the expiry and the cancellation called back (paymentStatus 3, 4, 4)",
  callbacks("payment", (d) => d.outTradeNo === "A-1003").length === 2 &&
    callbacks("payment", (d) => d.outTradeNo === "A-1004").length === 1 &&
    callbacks("payment", (d) => d.outTradeNo === "A-1005").length === 1,
);
check(
  "no callback for block confirmations (Pay Protocol calls back on paid, partially paid and failed only)",
  callbacks("payment", (d) => d.paymentStatus === 2).length === 0,
);
check(
  "refund, withdrawal and settlement success callbacks arrived",
  callbacks("refund", (d) => d.refundStatus === 0).length === 2 &&
    callbacks("withdrawal", (d) => d.withdrawStatus === 0).length === 1 &&
    callbacks("settlement", (d) => d.settlementStatus === 0).length === 1,
);
check("recharge success callbacks arrived at the recharge callback URL", callbacks("recharge", (d) => d.rechargeStatus === 0).length === 2);
check(
  "every callback was verified by X-PAY-SIGN; none failed verification",
  shop.received.every((e) => e.verifiedBy === "x-pay-sign") && shop.refused.length === 0,
  shop.refused.join("; "),
);
say(`${shop.received.length} callbacks received and verified`);

// ------------------------------------------------------------------ statement and reconciliation
section("10. statement and reconciliation");
const today = new Date();
const from = new Date(today.getTime() - 86_400_000).toISOString().slice(0, 10);
const to = new Date(today.getTime() + 86_400_000).toISOString().slice(0, 10);
const bill: any = await client.bill.json({ from, to } as any);
const csv = await client.bill.csv({ from, to } as any);
check(
  "statement lists the payments, refunds, recharges, withdrawal and settlement",
  JSON.stringify(bill).includes("A-1001") &&
    JSON.stringify(bill).includes("R-2") &&
    JSON.stringify(bill).includes("W-1") &&
    csv.split("\n").length > 8,
);
const publicClient = createPublicClient({ transport: http(bridge.url) });
// reconcile at a block where every operator transaction is confirmed
const headNow = await publicClient.getBlockNumber();
await waitFor(
  "follower past the last payout",
  async () => (await gateway.health()).chains[0]!,
  (c) => BigInt(c.confirmed) >= headNow,
);
const input = await collectReconciliation({
  db: gateway.db,
  client: publicClient as any,
  chainId: 31337,
  vault: deployed.vault as Address,
  tokens: [usdtAddress, NATIVE],
});
const mismatches = compareReconciliation(input);
if (mismatches.length) console.log(formatMismatches(mismatches));
check("reconciliation of the gateway's ledger against the chain is clean", mismatches.length === 0, `${mismatches.length} mismatches`);

// ------------------------------------------------------------------ report
const gasRows = await gateway.db.query<{ purpose: string; tx_hash: string }>(
  "SELECT purpose, tx_hash FROM operator_txs WHERE status = 'mined' ORDER BY sent_at",
);
let sweepGas = 0n;
let payoutGas = 0n;
for (const r of gasRows) {
  const receipt = await publicClient.getTransactionReceipt({ hash: r.tx_hash as Hex });
  if (r.purpose === "sweep") sweepGas += receipt.gasUsed;
  else payoutGas += receipt.gasUsed;
}
const fees = await gateway.db.query<{ token: string; fee: string }>(
  "SELECT token, sum(fee)::text AS fee FROM sweeps WHERE status = 'confirmed' GROUP BY token",
);
section("summary");
console.log(`  ${"order".padEnd(14)} ${"kind".padEnd(11)} ${"state".padStart(5)}  ${"amount".padEnd(14)} detail`);
for (const r of summary)
  console.log(`  ${r.what.padEnd(14)} ${r.kind.padEnd(11)} ${r.state.padStart(5)}  ${r.amount.padEnd(14)} ${r.detail}`);
const symbolOf = (t: string) => (t === NATIVE ? ["ETH", 18] : ["USDT", 6]) as [string, number];
console.log(
  `\n  platform fees: ${fees.map((f) => `${formatUnits(BigInt(f.fee), symbolOf(f.token)[1])} ${symbolOf(f.token)[0]}`).join(", ")}`,
);
console.log(
  `  vault balance of merchant ${MERCHANT}: ${formatUnits((await account(usdtAddress)).balance, 6)} USDT, ${formatUnits((await account(NATIVE)).balance, 18)} ETH`,
);
console.log(
  `  operator gas: ${gasRows.filter((r) => r.purpose === "sweep").length} sweeps ${sweepGas.toLocaleString("en-US")} gas, ${gasRows.filter((r) => r.purpose === "payout").length} payouts ${payoutGas.toLocaleString("en-US")} gas`,
);
console.log(`  callbacks: ${shop.received.length} delivered and verified; total time ${elapsed().trim()} s`);
const consolePage = await fetch(`${gateway.url}/console`, { headers: { "accept-language": "en" } });
check(
  "the merchant console sends a signed-out visitor to its sign-in page",
  consolePage.ok && new URL(consolePage.url).pathname === "/console/signin",
  `HTTP ${consolePage.status} at ${consolePage.url}`,
);
console.log(`  merchant console: ${gateway.url}/console — sign in with the merchant's payout signer ${merchantSigner.address} (Hardhat's account #3)
    in a browser wallet on chain 31337; the demo stops its gateway now: \`npm run local\` keeps one running, with its console`);

clearInterval(miner);
await gateway.stop();
await new Promise<void>((r) => shop.server.close(() => r()));
await bridge.close();
await connection.close();
rmSync(dataDir, { recursive: true, force: true });

console.log("");
if (failures.length > 0) {
  console.error(`DEMO FAILED: ${failures.length} of ${checks} checks failed:\n  - ${failures.join("\n  - ")}`);
  process.exitCode = 1;
} else {
  console.log(`demo OK: all ${checks} checks held`);
}
