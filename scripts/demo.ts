/**
 * `npm run demo`: the end-to-end walk-through on an in-process chain (cancun):
 * deploy the vault (deterministically, as scripts/deploy.ts does) and a mock USDT, register a merchant,
 * allowlist USDT and the native coin, derive a deposit address off-chain, pay it in USDT and in ETH, sweep
 * both, refund part of the payment with a merchant-signed payout relayed by the operator, then print the
 * addresses, a timeline and the gas table (scripts/lib/gas.ts on a second fresh chain).
 * Exits 0 only if every check held.
 */
import { formatEther, formatUnits, parseEther, parseUnits } from "ethers";
import { network } from "hardhat";
import { deployVault } from "./lib/deploy.js";
import { formatGasTable, measureGas } from "./lib/gas.js";
import {
  DEPLOY_FLAG,
  DepositKind,
  NATIVE,
  PAYOUT_TYPES,
  PayoutKind,
  depositAddress,
  depositSalt,
  signPayout,
} from "./lib/vault.js";

const failures: string[] = [];
const timeline: string[] = [];
let checks = 0;
function check(what: string, ok: boolean, detail = "") {
  checks++;
  if (!ok) failures.push(`${what}${detail ? ` (${detail})` : ""}`);
  console.log(`  ${ok ? "ok  " : "FAIL"} ${what}${detail && !ok ? ` — ${detail}` : ""}`);
}
async function step(what: string, txPromise: Promise<any>) {
  const tx = await txPromise;
  const receipt = await tx.wait();
  timeline.push(`block ${String(receipt.blockNumber).padStart(3)}  ${what.padEnd(58)} ${receipt.gasUsed.toLocaleString("en-US").padStart(9)} gas`);
  console.log(`- ${what} (tx ${receipt.hash.slice(0, 10)}…, ${receipt.gasUsed} gas)`);
  return receipt;
}
async function reverts(p: Promise<any>, errorName: string, iface: any): Promise<boolean> {
  try {
    await (await p).wait();
    return false;
  } catch (e: any) {
    const data = e?.data ?? e?.error?.data ?? e?.info?.error?.data;
    try {
      if (data && iface.parseError(data)?.name === errorName) return true;
    } catch {}
    return String(e?.message ?? e).includes(errorName);
  }
}

const connection = await network.create("hardhatMainnet");
const { ethers } = connection;
const [deployer, operator, feeRecipient, merchantSigner, payer, customer] = await ethers.getSigners();
const chainId = BigInt((await ethers.provider.getNetwork()).chainId);
console.log(`== in-process chain ${chainId} (hardfork ${(connection.networkConfig as { hardfork?: string }).hardfork ?? "?"})`);

// 1. Deploy.
console.log("\n== 1. deploy");
const deployed = await deployVault(
  ethers,
  deployer,
  { admin: deployer.address, operator: operator.address, feeRecipient: feeRecipient.address },
  (l) => console.log(`  ${l}`),
);
const deployGas = deployed.txHash ? (await ethers.provider.getTransactionReceipt(deployed.txHash))!.gasUsed : 0n;
timeline.push(`block ${String(deployed.blockNumber).padStart(3)}  ${"deploy PaymentVault through the CREATE2 proxy".padEnd(58)} ${deployGas.toLocaleString("en-US").padStart(9)} gas`);
check("vault deployed through the CREATE2 proxy", deployed.method === "create2-proxy" && (await ethers.provider.getCode(deployed.vault)) !== "0x");
const vault = await ethers.getContractAt("PaymentVault", deployed.vault, deployer);
const vaultAddress = deployed.vault;
const usdt = await ethers.deployContract("MockTetherToken");
await usdt.waitForDeployment();
const usdtAddress = await usdt.getAddress();
await step("USDT: fee parameters 0/0 as on mainnet", usdt.setParams(0, 0));

// 2. Merchant and allowlist.
console.log("\n== 2. merchant and allowlist");
const MERCHANT = 42n;
const FEE_BPS = 100; // 1%
await step(`register merchant ${MERCHANT} (signer ${merchantSigner.address.slice(0, 8)}…, fee 1%)`, vault.registerMerchant(MERCHANT, merchantSigner.address, FEE_BPS));
await step("allowlist mock USDT", vault.setTokenAllowed(usdtAddress, true));
await step("allowlist the native coin", vault.setTokenAllowed(NATIVE, true));
check("merchant registered with its signer", (await vault.merchant(MERCHANT)).signer === merchantSigner.address);
check("USDT and native allowlisted", (await vault.isTokenAllowed(usdtAddress)) && (await vault.isTokenAllowed(NATIVE)));

// 3. Deposit address, derived off-chain.
console.log("\n== 3. deposit address");
const ORDER_KEY = 1001n;
const salt = depositSalt(MERCHANT, DepositKind.Payment, ORDER_KEY);
const initCodeHash: string = await vault.DEPOSIT_INIT_CODE_HASH();
const deposit = depositAddress(vaultAddress, initCodeHash, salt);
check("off-chain deposit address = vault.predictDepositAddress", deposit === (await vault.predictDepositAddress(MERCHANT, DepositKind.Payment, ORDER_KEY)));
check("deposit address has no code before its first sweep", (await ethers.provider.getCode(deposit)) === "0x");
console.log(`  merchant ${MERCHANT}, order key ${ORDER_KEY} -> ${deposit}`);

// 4. Payer pays it.
console.log("\n== 4. payments");
const USDT_PAID = parseUnits("100", 6);
const ETH_PAID = parseEther("0.5");
await step("mint 1,000 USDT to the payer", usdt.mint(payer.address, parseUnits("1000", 6)));
await step("payer sends 100 USDT to the deposit address", usdt.connect(payer).transfer(deposit, USDT_PAID));
await step("payer sends 0.5 ETH to the deposit address (no code yet)", payer.sendTransaction({ to: deposit, value: ETH_PAID }));
check("deposit address holds 100 USDT", (await usdt.balanceOf(deposit)) === USDT_PAID);
check("deposit address holds 0.5 ETH", (await ethers.provider.getBalance(deposit)) === ETH_PAID);

// 5. Sweep.
console.log("\n== 5. sweeps");
const asOperator = vault.connect(operator);
const r1 = await step("operator sweeps USDT (deploys the deposit address)", asOperator.sweep(usdtAddress, [salt | DEPLOY_FLAG]));
const r2 = await step("operator sweeps ETH", asOperator.sweep(NATIVE, [salt]));
const eventNames = (r: any) => r.logs.map((l: any) => { try { return vault.interface.parseLog(l)?.name; } catch { return undefined; } }).filter(Boolean);
check("USDT sweep emitted DepositAddressDeployed and Swept", eventNames(r1).includes("DepositAddressDeployed") && eventNames(r1).includes("Swept"));
check("ETH sweep emitted NativeSwept and Swept", eventNames(r2).includes("NativeSwept") && eventNames(r2).includes("Swept"));
check("deposit address now has the deposit code", (await ethers.provider.getCode(deposit)).length === 2 + 67 * 2);
check("deposit address emptied", (await usdt.balanceOf(deposit)) === 0n && (await ethers.provider.getBalance(deposit)) === 0n);
check("vault holds the 100 USDT and 0.5 ETH", (await usdt.balanceOf(vaultAddress)) === USDT_PAID && (await ethers.provider.getBalance(vaultAddress)) === ETH_PAID);
const [usdtBal, usdtFee] = await vault.accountOf(MERCHANT, usdtAddress);
const [ethBal, ethFee] = await vault.accountOf(MERCHANT, NATIVE);
check("merchant credited 99 USDT + 1 USDT fee", usdtBal === parseUnits("99", 6) && usdtFee === parseUnits("1", 6), `${usdtBal}/${usdtFee}`);
check("merchant credited 0.495 ETH + 0.005 ETH fee", ethBal === parseEther("0.495") && ethFee === parseEther("0.005"), `${ethBal}/${ethFee}`);

// 6. Refund with the merchant's signature, relayed by the operator.
console.log("\n== 6. refund");
const REFUND = parseUnits("30", 6);
const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 3600n;
const payout = { merchantId: MERCHANT, kind: PayoutKind.Refund, token: usdtAddress, to: customer.address, amount: REFUND, payoutId: 1n, deadline };
const signature = await signPayout(merchantSigner, chainId, vaultAddress, payout);
check("EIP-712 digest matches vault.hashPayout", ethers.TypedDataEncoder.hash({ name: "PaymentVault", version: "1", chainId, verifyingContract: vaultAddress }, PAYOUT_TYPES, payout) === (await vault.hashPayout(payout)));
const customerBefore: bigint = await usdt.balanceOf(customer.address);
await step("merchant signs refund #1 (30 USDT), operator relays it", asOperator.payout(payout, signature));
check("customer received 30 USDT", (await usdt.balanceOf(customer.address)) - customerBefore === REFUND);
check("merchant USDT balance now 69", (await vault.accountOf(MERCHANT, usdtAddress))[0] === parseUnits("69", 6));
check("payout id 1 marked used", await vault.isPayoutIdUsed(MERCHANT, 1n));
check("replaying the signed refund reverts (VaultPayoutIdUsed)", await reverts(asOperator.payout(payout, signature), "VaultPayoutIdUsed", vault.interface));
const forged = await signPayout(customer, chainId, vaultAddress, { ...payout, payoutId: 2n });
check("a refund signed by someone else reverts (VaultInvalidSignature)", await reverts(asOperator.payout({ ...payout, payoutId: 2n }, forged), "VaultInvalidSignature", vault.interface));

// 7. Report.
console.log("\n== addresses");
const rows: [string, string][] = [
  ["PaymentVault", vaultAddress],
  ["mock USDT", usdtAddress],
  ["admin (deployer)", deployer.address],
  ["operator", operator.address],
  ["fee recipient", feeRecipient.address],
  [`merchant ${MERCHANT} signer`, merchantSigner.address],
  ["payer", payer.address],
  ["customer (refund)", customer.address],
  [`deposit address (order ${ORDER_KEY})`, deposit],
];
for (const [k, v] of rows) console.log(`  ${k.padEnd(28)} ${v}`);
console.log(`  DEPOSIT_INIT_CODE_HASH       ${initCodeHash}`);
console.log(`  merchant ${MERCHANT} ledger: ${formatUnits((await vault.accountOf(MERCHANT, usdtAddress))[0], 6)} USDT, ${formatEther(ethBal)} ETH (fees ${formatUnits(usdtFee, 6)} USDT, ${formatEther(ethFee)} ETH)`);

console.log("\n== timeline");
for (const line of timeline) console.log(`  ${line}`);
await connection.close();

console.log("\n== gas (fresh in-process chain)");
const benchConnection = await network.create("hardhatMainnet");
const report = await measureGas(benchConnection, (l) => console.log(`  ${l}`));
await benchConnection.close();
console.log("");
console.log(formatGasTable(report));
check("every gas target met", report.allTargetsMet, Object.entries(report.targets).filter(([, t]) => !t.met).map(([k]) => k).join(", "));

console.log("");
if (failures.length > 0) {
  console.error(`DEMO FAILED: ${failures.length} of ${checks} checks failed:\n  - ${failures.join("\n  - ")}`);
  process.exitCode = 1;
} else {
  console.log(`demo OK: all ${checks} checks held`);
}
