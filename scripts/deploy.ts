/**
 * Deploys PaymentVault to the selected network at its deterministic address (see scripts/lib/deploy.ts):
 *
 *   npx hardhat run scripts/deploy.ts --network sepolia      # SEPOLIA_RPC_URL, DEPLOYER_PRIVATE_KEY (env or keystore)
 *   RPC_URL=http://127.0.0.1:8545 npx hardhat run scripts/deploy.ts --network localhost
 *
 * Env: ADMIN_ADDRESS, OPERATOR_ADDRESS, FEE_RECIPIENT (each defaults to the deployer);
 *      TOKENS: comma-separated token addresses to allowlist, `native` for the native coin (only if the
 *      deployer holds MERCHANT_ADMIN_ROLE; tokens already allowed are left alone).
 * Idempotent: if the vault already has code at its predicted address nothing is sent (except missing
 * TOKENS allowlistings) and deployments/<chainId>.json is rewritten.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { getAddress } from "ethers";
import { network } from "hardhat";
import { CREATE2_PROXY, VAULT_SALT, deployVault } from "./lib/deploy.js";
import { NATIVE } from "./lib/vault.js";

const log = (line: string) => console.log(`[deploy] ${line}`);
const connection = await network.create();
const { ethers } = connection;
const [deployer] = await ethers.getSigners();
if (!deployer) throw new Error("no deployer account: set DEPLOYER_PRIVATE_KEY (env or `npx hardhat keystore set`)");
const chainId = Number((await ethers.provider.getNetwork()).chainId);
log(`network ${connection.networkName} (chainId ${chainId}), deployer ${deployer.address}`);

const addressFromEnv = (name: string) => getAddress(process.env[name]?.trim() || deployer.address);
const args = {
  admin: addressFromEnv("ADMIN_ADDRESS"),
  operator: addressFromEnv("OPERATOR_ADDRESS"),
  feeRecipient: addressFromEnv("FEE_RECIPIENT"),
};
log(`constructor args: admin ${args.admin}, operator ${args.operator}, feeRecipient ${args.feeRecipient}`);

const result = await deployVault(ethers, deployer, args, log);
const vault = await ethers.getContractAt("PaymentVault", result.vault, deployer);
const depositInitCodeHash: string = await vault.DEPOSIT_INIT_CODE_HASH();

// Optional allowlist.
const allowlisted: string[] = [];
const tokens = (process.env.TOKENS ?? "")
  .split(",")
  .map((t) => t.trim())
  .filter(Boolean);
if (tokens.length > 0) {
  const role = await vault.MERCHANT_ADMIN_ROLE();
  if (!(await vault.hasRole(role, deployer.address))) {
    log(`TOKENS given but the deployer lacks MERCHANT_ADMIN_ROLE: allowlist them from ${args.admin}`);
  } else {
    for (const t of tokens) {
      const token = t.toLowerCase() === "native" ? NATIVE : getAddress(t);
      if (await vault.isTokenAllowed(token)) {
        log(`token ${token} already allowed`);
      } else {
        await (await vault.setTokenAllowed(token, true)).wait();
        log(`allowed token ${token}`);
      }
      allowlisted.push(token);
    }
  }
}

// deployments/<chainId>.json; on a re-run keep what the earlier run recorded if the log lookup found nothing.
const file = path.join(process.cwd(), "deployments", `${chainId}.json`);
let previous: any = {};
try {
  previous = JSON.parse(await readFile(file, "utf8"));
} catch {}
const samePrevious = previous.vault === result.vault;
const record = {
  chainId,
  network: connection.networkName,
  vault: result.vault,
  deploymentMethod: result.method,
  create2Proxy: result.method === "create2-proxy" ? CREATE2_PROXY : null,
  salt: result.method === "create2-proxy" ? VAULT_SALT : null,
  deployer: result.alreadyDeployed && samePrevious ? (previous.deployer ?? deployer.address) : deployer.address,
  blockNumber: result.blockNumber ?? (samePrevious ? (previous.blockNumber ?? null) : null),
  txHash: result.txHash ?? (samePrevious ? (previous.txHash ?? null) : null),
  constructorArgs: args,
  initCodeHash: result.initCodeHash,
  DEPOSIT_INIT_CODE_HASH: depositInitCodeHash,
  solcVersion: await solcVersion(),
  allowlistedTokens: allowlisted.length > 0 ? allowlisted : samePrevious ? (previous.allowlistedTokens ?? []) : [],
};
await mkdir(path.dirname(file), { recursive: true });
await writeFile(`${file}.tmp`, JSON.stringify(record, null, 2) + "\n");
await rename(`${file}.tmp`, file);
log(
  `${result.alreadyDeployed ? "already deployed" : "deployed"}: PaymentVault ${result.vault} ` +
    `(method ${result.method}, proxy ${result.proxy}, tx ${record.txHash}, block ${record.blockNumber})`,
);
log(`wrote ${path.relative(process.cwd(), file)}`);
await connection.close();

async function solcVersion(): Promise<string | null> {
  try {
    const artifact = JSON.parse(await readFile("artifacts/contracts/PaymentVault.sol/PaymentVault.json", "utf8"));
    const info = JSON.parse(await readFile(`artifacts/build-info/${artifact.buildInfoId}.json`, "utf8"));
    return info.solcLongVersion ?? info.solcVersion ?? null;
  } catch {
    return null;
  }
}
