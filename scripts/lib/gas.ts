/**
 * The gas benchmark, as a module: `measureGas(connection)` deploys fresh contracts on the given (in-process,
 * cancun) chain, measures every figure with real transactions and returns them; `formatGasTable` prints them.
 * Used by scripts/bench-gas.ts (which writes bench/results/gas.json) and scripts/demo.ts.
 *
 * Payments into deposit addresses are made by minting to them (mocks have open minting): the sweep's gas
 * depends only on the storage state the payment leaves (a zero balance slot made non-zero), not on how.
 */
import { toBeHex } from "ethers";
import { gasBreakdown } from "./gasBreakdown.js";
import { deployUsdc } from "./stablecoins.js";
import { DEPLOY_FLAG, DepositKind, NATIVE, PayoutKind, depositSalt, signPayout, signPayoutBatch } from "./vault.js";

/**
 * Upper bounds (gas). Every one fails `bench:gas` when missed.
 */
export const GAS_TARGETS: Record<string, number> = {
  erc20SweepBatch100PerDeposit: 15_000,
  erc20SweepBatch100PerDeposit100Merchants: 18_000,
  usdtSweepBatch100PerDeposit: 20_000,
  usdtSweepBatch100PerDeposit100Merchants: 21_000,
  usdcSweepBatch100PerDeposit: 13_000,
  usdcSweepBatch100PerDeposit100Merchants: 19_500,
  erc20SweepFirst: 100_000,
  usdcSweepFirst: 110_000,
  nativeDepositPayerGas: 23_500,
  payoutGas: 65_000,
  payoutBatch50PerPayout: 15_000,
};

/** What each key measures (for the printed table). */
export const GAS_DESCRIPTIONS: Record<string, string> = {
  erc20SweepFirst: "deploy a deposit address + sweep 1 ERC-20 deposit (1 tx)",
  erc20SweepRepeat: "sweep 1 ERC-20 deposit from an address swept before",
  usdcSweepFirst: "deploy a deposit address + sweep 1 USDC (FiatTokenV2_2) deposit (1 tx)",
  usdcSweepBatch100PerDeposit: "USDC batch of 100 used addresses, 10 merchants, per deposit",
  usdcSweepBatch100PerDeposit100Merchants: "USDC batch of 100 used addresses, 100 merchants, per deposit",
  erc20SweepBatch100PerDeposit: "ERC-20 batch of 100 used addresses, 10 merchants, per deposit",
  erc20SweepBatch100PerDeposit100Merchants: "ERC-20 batch of 100 used addresses, 100 merchants, per deposit",
  usdtSweepBatch100PerDeposit: "USDT batch of 100 used addresses, 10 merchants, per deposit",
  usdtSweepBatch100PerDeposit100Merchants: "USDT batch of 100 used addresses, 100 merchants, per deposit",
  nativeSweepBatch100PerDeposit: "native batch of 100 used addresses, 10 merchants, per deposit",
  nativeDepositPayerGas: "payer's plain native transfer to a deposit address (max of before/after code)",
  payoutGas: "merchant-signed payout relayed by the operator (avg of 20)",
  payoutBatch50PerPayout: "one signed batch of 50 ERC-20 payouts, recipients hold the token, per payout",
  payoutBatch50PerPayoutFreshRecipients: "the same to 50 recipients that never held the token, per payout",
  usdcPayoutBatch50PerPayout: "one signed batch of 50 USDC payouts, recipients hold USDC, per payout",
  relayPayouts10Merchants5EachPerPayout: "one relay of 10 merchants' signed batches of 5 ERC-20 payouts, per payout",
  plainErc20TransferGas: "baseline: wallet-to-wallet ERC-20 transfer",
  baselineForwarderFirst: "baseline: create EIP-1167 forwarder + flush ERC-20 (1 tx)",
  baselineForwarderFlush: "baseline: flush ERC-20 from an existing forwarder",
  baselineForwarderNativeDepositPayerGas: "baseline: payer's native transfer to a forwarder (max before/after)",
};

export interface GasReport {
  gas: Record<string, number>;
  targets: Record<string, { max: number; actual: number; met: boolean }>;
  allTargetsMet: boolean;
  hardfork: string;
  chainId: number;
  solcVersion?: string;
}

type Log = (line: string) => void;

const MERCHANT_FEE_BPS = 100; // 1%: every credit also accrues a fee, as in production
const TOKEN_DEPOSIT = 25_000_000n; // 25.000000 of a 6-decimals token
const NATIVE_DEPOSIT = 10n ** 16n; // 0.01 ETH

/**
 * Runs every measurement on `connection`'s chain. The chain must be fresh enough to deploy on and should be
 * an in-process EDR chain pinned to cancun (e.g. `network.create("hardhatMainnet")`).
 */
export async function measureGas(connection: { ethers: any; provider: any; networkConfig?: any }, log: Log = () => {}): Promise<GasReport> {
  const { ethers } = connection;
  const started = Date.now();
  const step = (msg: string) => log(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
  const [admin, operator, feeRecipient, merchantSigner, payer, recipient, baselineVault, usdcProxyAdmin] = await ethers.getSigners();
  const chainId = BigInt((await ethers.provider.getNetwork()).chainId);
  const hardfork = String(connection.networkConfig?.hardfork ?? "unknown");
  step(`chain ${chainId}, hardfork ${hardfork}`);

  let lastTxHash = "";
  const gasOf = async (txPromise: Promise<any>): Promise<number> => {
    const tx = await txPromise;
    const receipt = await tx.wait();
    if (receipt.status !== 1) throw new Error(`transaction ${tx.hash} reverted`);
    lastTxHash = tx.hash;
    return Number(receipt.gasUsed);
  };
  /** With GAS_BREAKDOWN=1, prints where the last measured transaction's gas went. */
  const breakdown = async (label: string) => {
    if (!process.env.GAS_BREAKDOWN) return;
    const b = await gasBreakdown(connection.provider, lastTxHash);
    const rows = Object.entries(b.byClass)
      .sort(([a], [c]) => a.localeCompare(c))
      .map(([k, v]) => `${k}=${v}`);
    log(`  breakdown ${label}: executed ${b.executed}, refund ${b.refund}: ${rows.join(" ")}`);
  };

  // ------------------------------------------------------------------ contracts
  const vault = await ethers.deployContract("PaymentVault", [admin.address, operator.address, feeRecipient.address]);
  await vault.waitForDeployment();
  const vaultAddress = await vault.getAddress();
  const asOperator = vault.connect(operator);
  const erc20 = await ethers.deployContract("MockERC20", ["Mock USD Coin", "mUSDC", 6]);
  const usdt = await ethers.deployContract("MockTetherToken");
  await (await usdt.setParams(0, 0)).wait(); // fee parameters as on mainnet: basisPointsRate = maximumFee = 0
  const erc20Address = await erc20.getAddress();
  const usdtAddress = await usdt.getAddress();
  const usdc = await deployUsdc({ owner: admin, proxyAdmin: usdcProxyAdmin });
  const usdcAddress = usdc.address;
  for (const t of [erc20Address, usdtAddress, usdcAddress, NATIVE]) await (await vault.setTokenAllowed(t, true)).wait();
  for (let m = 1; m <= 100; m++) {
    await (await vault.registerMerchant(m, merchantSigner.address, MERCHANT_FEE_BPS)).wait();
  }
  step(`vault ${vaultAddress}, ERC-20 ${erc20Address}, USDT ${usdtAddress}, 100 merchants registered`);

  const initCodeHash: string = await vault.DEPOSIT_INIT_CODE_HASH();
  const addressOf = (salt: bigint) => ethers.getCreate2Address(vaultAddress, toBeHex(salt, 32), initCodeHash);

  /** Pays every salt's address (mint for tokens, a payer transfer for the native coin); returns payer gas used. */
  const pay = async (token: string, salts: bigint[]): Promise<number[]> => {
    const used: number[] = [];
    for (const s of salts) {
      const to = addressOf(s);
      if (token === NATIVE) used.push(await gasOf(payer.sendTransaction({ to, value: NATIVE_DEPOSIT })));
      else if (token === usdtAddress) await (await usdt.mint(to, TOKEN_DEPOSIT)).wait();
      else if (token === usdcAddress) await (await usdc.token.mint(to, TOKEN_DEPOSIT)).wait();
      else await (await erc20.mint(to, TOKEN_DEPOSIT)).wait();
    }
    return used;
  };
  /** Sweeps with the amounts the operator read (as the gateway does): every address holds one deposit. */
  const sweep = (token: string, entries: bigint[]) =>
    gasOf(
      asOperator.sweep(
        token,
        entries,
        entries.map(() => (token === NATIVE ? NATIVE_DEPOSIT : TOKEN_DEPOSIT)),
      ),
    );
  const deployFlagged = (salts: bigint[]) => salts.map((s) => s | DEPLOY_FLAG);

  const gas: Record<string, number> = {};

  // ------------------------------------------------------------------ single ERC-20 sweeps
  // The vault already holds the token and merchant 1 already has a balance in it.
  const warm = [depositSalt(1, DepositKind.Payment, 900_000)];
  await pay(erc20Address, warm);
  await sweep(erc20Address, deployFlagged(warm));
  const single = [depositSalt(1, DepositKind.Payment, 900_001)];
  await pay(erc20Address, single);
  gas.erc20SweepFirst = await sweep(erc20Address, deployFlagged(single));
  step(`erc20SweepFirst ${gas.erc20SweepFirst}`);
  await breakdown("erc20SweepFirst");
  await pay(erc20Address, single);
  gas.erc20SweepRepeat = await sweep(erc20Address, single);
  step(`erc20SweepRepeat ${gas.erc20SweepRepeat}`);
  const usdcWarm = [depositSalt(1, DepositKind.Payment, 910_000)];
  await pay(usdcAddress, usdcWarm);
  await sweep(usdcAddress, deployFlagged(usdcWarm));
  const usdcSingle = [depositSalt(1, DepositKind.Payment, 910_001)];
  await pay(usdcAddress, usdcSingle);
  gas.usdcSweepFirst = await sweep(usdcAddress, deployFlagged(usdcSingle));
  step(`usdcSweepFirst ${gas.usdcSweepFirst}`);
  await breakdown("usdcSweepFirst");

  // ------------------------------------------------------------------ batches of 100 used addresses
  // Each token gets its own addresses ("previously used" means swept before in that token).
  const tenMerchants = (keyBase: number) => {
    const salts: bigint[] = [];
    for (let m = 1; m <= 10; m++) for (let k = 0; k < 10; k++) salts.push(depositSalt(m, DepositKind.Payment, keyBase + k));
    return salts;
  };
  const hundredMerchants = (key: number) => {
    const salts: bigint[] = [];
    for (let m = 1; m <= 100; m++) salts.push(depositSalt(m, DepositKind.Recharge, key));
    return salts;
  };

  /** First round deploys and sweeps the addresses (so they are "previously used"); the second is measured. */
  const batch = async (token: string, salts: bigint[], label: string) => {
    const firstPayerGas = await pay(token, salts);
    await sweep(token, deployFlagged(salts));
    const secondPayerGas = await pay(token, salts);
    const total = await sweep(token, salts);
    await breakdown(label);
    step(`${label}: sweep of ${salts.length} = ${total} gas, ${Math.round(total / salts.length)}/deposit`);
    return { perDeposit: Math.round(total / salts.length), firstPayerGas, secondPayerGas };
  };

  gas.erc20SweepBatch100PerDeposit = (await batch(erc20Address, tenMerchants(1000), "ERC-20, 10 merchants")).perDeposit;
  gas.erc20SweepBatch100PerDeposit100Merchants = (await batch(erc20Address, hundredMerchants(1000), "ERC-20, 100 merchants")).perDeposit;
  gas.usdtSweepBatch100PerDeposit = (await batch(usdtAddress, tenMerchants(2000), "USDT, 10 merchants")).perDeposit;
  gas.usdtSweepBatch100PerDeposit100Merchants = (await batch(usdtAddress, hundredMerchants(2000), "USDT, 100 merchants")).perDeposit;
  gas.usdcSweepBatch100PerDeposit = (await batch(usdcAddress, tenMerchants(4000), "USDC, 10 merchants")).perDeposit;
  gas.usdcSweepBatch100PerDeposit100Merchants = (await batch(usdcAddress, hundredMerchants(4000), "USDC, 100 merchants")).perDeposit;
  const native = await batch(NATIVE, tenMerchants(3000), "native, 10 merchants");
  gas.nativeSweepBatch100PerDeposit = native.perDeposit;
  const beforeCode = Math.max(...native.firstPayerGas);
  const afterCode = Math.max(...native.secondPayerGas);
  gas.nativeDepositPayerGas = Math.max(beforeCode, afterCode);
  step(`nativeDepositPayerGas: ${beforeCode} before code, ${afterCode} after`);

  // ------------------------------------------------------------------ payouts
  // Merchant 1 holds ERC-20 balance from the sweeps above; the recipient already holds the token.
  await (await erc20.mint(recipient.address, 1_000_000n)).wait();
  // A fixed deadline (2100-01-01) keeps the calldata, hence the gas, identical from run to run.
  const deadline = 4_102_444_800n;
  const payoutGas: number[] = [];
  for (let id = 1n; id <= 20n; id++) {
    const p = {
      merchantId: 1n,
      kind: PayoutKind.Refund,
      token: erc20Address,
      to: recipient.address,
      amount: 1_000_000n,
      payoutId: id,
      deadline,
    };
    const signature = await signPayout(merchantSigner, chainId, vaultAddress, p);
    payoutGas.push(await gasOf(asOperator.payout(p, signature)));
  }
  gas.payoutGas = Math.round(payoutGas.reduce((a, b) => a + b, 0) / payoutGas.length);
  step(`payoutGas avg of 20 = ${gas.payoutGas} (min ${Math.min(...payoutGas)}, max ${Math.max(...payoutGas)})`);
  await breakdown("payout 20");

  // ------------------------------------------------------------------ batch payouts
  // One signature over 50 payouts of merchant 1 (ids 21..70, so the batch crosses a 64-id range), relayed.
  const items = (token: string, recipients: string[], firstId: bigint) =>
    recipients.map((to, k) => ({ kind: PayoutKind.Withdrawal, token, to, amount: 10_000n, payoutId: firstId + BigInt(k) }));
  const batchGas = async (merchantId: bigint, payouts: ReturnType<typeof items>) => {
    const b = { merchantId, deadline, payouts };
    return gasOf(asOperator.payoutBatch(b, await signPayoutBatch(merchantSigner, chainId, vaultAddress, b)));
  };
  // Recipients derived from fixed seeds: random-looking addresses (calldata pays per non-zero byte), same every run.
  const addressOfSeed = (seed: string) => ethers.getAddress(ethers.id(seed).slice(0, 42));
  const holders = Array.from({ length: 50 }, (_, k) => addressOfSeed(`holder ${k}`));
  for (const h of holders) await (await erc20.mint(h, 1n)).wait();
  gas.payoutBatch50PerPayout = Math.round((await batchGas(1n, items(erc20Address, holders, 21n))) / 50);
  await breakdown("payoutBatch50");
  const fresh = Array.from({ length: 50 }, (_, k) => addressOfSeed(`fresh recipient ${k}`));
  gas.payoutBatch50PerPayoutFreshRecipients = Math.round((await batchGas(1n, items(erc20Address, fresh, 71n))) / 50);
  for (const h of holders) await (await usdc.token.mint(h, 1n)).wait();
  gas.usdcPayoutBatch50PerPayout = Math.round((await batchGas(1n, items(usdcAddress, holders, 121n))) / 50);
  // One relay transaction with ten merchants' batches of five payouts each (recipients hold the token).
  const signedBatches = [];
  for (let m = 1n; m <= 10n; m++) {
    const b = { merchantId: m, deadline, payouts: items(erc20Address, holders.slice(0, 5), 1_000n) };
    signedBatches.push({ batch: b, signature: await signPayoutBatch(merchantSigner, chainId, vaultAddress, b) });
  }
  gas.relayPayouts10Merchants5EachPerPayout = Math.round((await gasOf(asOperator.relayPayouts([], signedBatches))) / 50);
  step(
    `payout batches per payout: ${gas.payoutBatch50PerPayout} (holders), ${gas.payoutBatch50PerPayoutFreshRecipients} (fresh), ` +
      `USDC ${gas.usdcPayoutBatch50PerPayout}, relay of 10 merchants x 5 ${gas.relayPayouts10Merchants5EachPerPayout}`,
  );

  // ------------------------------------------------------------------ baselines
  // Plain transfer: both wallets already hold the token.
  await (await erc20.mint(payer.address, 100_000_000n)).wait();
  gas.plainErc20TransferGas = await gasOf(erc20.connect(payer).transfer(recipient.address, TOKEN_DEPOSIT));

  // Forwarder per address (EIP-1167 clones flushing to a fixed vault, here an account that already holds the token).
  const factory = await ethers.deployContract("ForwarderFactory", [baselineVault.address]);
  const implementation: string = await factory.implementation();
  const forwarderAt = (salt: string) => factory.predict(salt);
  const asFlusher = factory.connect(operator);
  await (await erc20.mint(baselineVault.address, 1_000_000n)).wait();
  const fSalt = (n: number) => toBeHex(n, 32);
  const f1 = await forwarderAt(fSalt(1));
  await (await erc20.mint(f1, TOKEN_DEPOSIT)).wait();
  gas.baselineForwarderFirst = await gasOf(asFlusher.createAndFlush(fSalt(1), erc20Address));
  await (await erc20.mint(f1, TOKEN_DEPOSIT)).wait();
  const forwarder = await ethers.getContractAt("Forwarder", f1);
  gas.baselineForwarderFlush = await gasOf(forwarder.connect(operator).flush(erc20Address));
  const f2 = await forwarderAt(fSalt(2));
  const fwdBefore = await gasOf(payer.sendTransaction({ to: f2, value: NATIVE_DEPOSIT }));
  await (await asFlusher.createAndFlush(fSalt(2), NATIVE)).wait();
  const fwdAfter = await gasOf(payer.sendTransaction({ to: f2, value: NATIVE_DEPOSIT }));
  gas.baselineForwarderNativeDepositPayerGas = Math.max(fwdBefore, fwdAfter);
  step(
    `baselines: plain transfer ${gas.plainErc20TransferGas}, forwarder first ${gas.baselineForwarderFirst}, ` +
      `flush ${gas.baselineForwarderFlush}, native payer ${fwdBefore}/${fwdAfter} (impl ${implementation})`,
  );

  const targets: GasReport["targets"] = {};
  for (const [key, max] of Object.entries(GAS_TARGETS)) {
    targets[key] = { max, actual: gas[key], met: gas[key] <= max };
  }
  return {
    gas,
    targets,
    allTargetsMet: Object.values(targets).every((t) => t.met),
    hardfork,
    chainId: Number(chainId),
  };
}

/** A fixed-width table of every figure, its target and whether it is met. */
export function formatGasTable(report: GasReport): string {
  const rows = Object.entries(report.gas).map(([key, value]) => {
    const t = report.targets[key];
    return [
      key,
      value.toLocaleString("en-US"),
      t ? `<= ${t.max.toLocaleString("en-US")}` : "",
      t ? (t.met ? "ok" : "MISSED") : "",
      GAS_DESCRIPTIONS[key] ?? "",
    ];
  });
  const header = ["key", "gas", "target", "met", "what"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 1 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
