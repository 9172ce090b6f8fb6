/**
 * `npm run bench:gas`: measures the vault's gas figures and the baselines on an in-process cancun chain
 * (the `hardhatMainnet` network), prints a table, writes bench/results/gas.json (the committed snapshot) and
 * exits non-zero if a target is missed.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { network } from "hardhat";
import { formatGasTable, measureGas } from "./lib/gas.js";

const OUT = path.join(process.cwd(), "bench", "results", "gas.json");

const started = Date.now();
const connection = await network.create("hardhatMainnet");
if (connection.networkConfig.type !== "edr-simulated") throw new Error("bench:gas needs an in-process chain");
const report = await measureGas(connection, (line) => console.log(line));
const solcVersion = await readSolcVersion();

const json = {
  ...report.gas,
  targets: report.targets,
  allTargetsMet: report.allTargetsMet,
  environment: {
    network: "hardhatMainnet (in-process EDR)",
    hardfork: report.hardfork,
    chainId: report.chainId,
    solc: solcVersion,
    optimizerRuns: 10_000,
    note: "gas = receipt gasUsed; batch figures are one sweep tx's gasUsed / 100; payoutGas is the mean of payout ids 1..20",
  },
};
await mkdir(path.dirname(OUT), { recursive: true });
await writeFile(`${OUT}.tmp`, JSON.stringify(json, null, 2) + "\n");
await rename(`${OUT}.tmp`, OUT);

console.log("");
console.log(formatGasTable(report));
console.log("");
console.log(`wrote ${path.relative(process.cwd(), OUT)} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
const missed = Object.entries(report.targets).filter(([, t]) => !t.met);
if (missed.length > 0) {
  console.error(`TARGETS MISSED: ${missed.map(([k, t]) => `${k} ${t.actual} > ${t.max}`).join(", ")}`);
  process.exitCode = 1;
} else {
  console.log(`all ${Object.keys(report.targets).length} targets met`);
}
await connection.close();

/** The solc version PaymentVault's artifact was built with. */
async function readSolcVersion(): Promise<string | undefined> {
  try {
    const artifact = JSON.parse(await readFile("artifacts/contracts/PaymentVault.sol/PaymentVault.json", "utf8"));
    const info = JSON.parse(await readFile(`artifacts/build-info/${artifact.buildInfoId}.json`, "utf8"));
    return info.solcLongVersion ?? info.solcVersion;
  } catch {
    return undefined;
  }
}
