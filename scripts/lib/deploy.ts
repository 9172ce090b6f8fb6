/**
 * Deterministic deployment of PaymentVault through the deterministic deployment proxy
 * (https://github.com/Arachnid/deterministic-deployment-proxy) at 0x4e59b44847b379578588920ca78fbf26c0b4956c:
 * the vault's address is CREATE2(proxy, VAULT_SALT, initCode), so it is the same on every chain for the
 * same compiled bytecode and constructor arguments.
 *
 * If the proxy has no code:
 * - on a local chain (chainId 31337) its runtime code is installed with `hardhat_setCode`;
 * - on any other chain its well-known presigned deployment transaction is broadcast after funding its
 *   one-time signer with 0.01 ETH (100 gwei x 100,000 gas). That transaction is pre-EIP-155 (no chain id), so
 *   an RPC that refuses unprotected transactions rejects it, and a chain whose base fee is above 100 gwei
 *   cannot include it. In those cases (or if the signer's nonce 0 was already spent) the vault is deployed
 *   with a plain CREATE from the deployer instead: it works, but the address is then NOT the same across
 *   chains; the result says `method: "create"`.
 *
 * Provenance of the proxy bytes: the runtime code and the init code, together with the one-time signer
 * 0x3fab184622dc19b6109349b94811493bf2a45362, are embedded in node_modules/@nomicfoundation/edr-linux-x64-gnu
 * (foundry's CREATE2 deployer constants). The raw transaction itself is not in node_modules; it is rebuilt here
 * from its public fields (nonce 0, gas price 100 gwei, gas 100,000, no recipient, the init code, v = 27,
 * r = s = 0x2222...22) and checked before use: it must recover to that signer and create the proxy's address,
 * which is only possible if every byte is the original's.
 */
import { Signature, Transaction, concat, getAddress, getCreate2Address, getCreateAddress, id, keccak256 } from "ethers";

export const CREATE2_PROXY = "0x4e59b44847b379578588920cA78FbF26c0B4956C";
export const CREATE2_PROXY_SIGNER = "0x3fAB184622Dc19b6109349B94811493BF2a45362";
export const CREATE2_PROXY_RUNTIME =
  "0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3";
const CREATE2_PROXY_INIT = "0x604580600e600039806000f350fe" + CREATE2_PROXY_RUNTIME.slice(2);
const PRESIGNED_GAS_PRICE = 100_000_000_000n;
const PRESIGNED_GAS_LIMIT = 100_000n;
/** What the one-time signer must hold to pay for its own transaction. */
export const CREATE2_PROXY_FUNDING = PRESIGNED_GAS_PRICE * PRESIGNED_GAS_LIMIT;

/** The fixed CREATE2 salt of the vault. Changing it moves the vault on every chain. */
export const VAULT_SALT = id("evm-pay-gateway/PaymentVault/v1");

/** The proxy's presigned deployment transaction, rebuilt and verified (see the file comment). */
export function presignedProxyDeployment(): string {
  const tx = Transaction.from({
    type: 0,
    nonce: 0,
    gasPrice: PRESIGNED_GAS_PRICE,
    gasLimit: PRESIGNED_GAS_LIMIT,
    to: null,
    value: 0n,
    data: CREATE2_PROXY_INIT,
    signature: Signature.from({ r: "0x" + "22".repeat(32), s: "0x" + "22".repeat(32), v: 27 }),
  });
  if (tx.from !== CREATE2_PROXY_SIGNER || getCreateAddress({ from: tx.from, nonce: 0 }) !== CREATE2_PROXY) {
    throw new Error("presigned proxy deployment does not verify");
  }
  return tx.serialized;
}

export interface VaultArgs {
  admin: string;
  operator: string;
  feeRecipient: string;
}

export interface DeployResult {
  chainId: number;
  vault: string;
  method: "create2-proxy" | "create";
  alreadyDeployed: boolean;
  proxy: "present" | "installed-with-setCode" | "installed-with-presigned-tx" | "unavailable";
  txHash: string | null;
  blockNumber: number | null;
  initCodeHash: string;
}

type Log = (line: string) => void;

async function hasCode(provider: any, address: string): Promise<boolean> {
  return (await provider.getCode(address)) !== "0x";
}

/** Makes sure the deterministic deployment proxy has code; says how, or "unavailable". */
export async function ensureCreate2Proxy(ethers: any, deployer: any, chainId: number, log: Log): Promise<DeployResult["proxy"]> {
  const provider = ethers.provider;
  if (await hasCode(provider, CREATE2_PROXY)) return "present";
  if (chainId === 31337) {
    await provider.send("hardhat_setCode", [CREATE2_PROXY, CREATE2_PROXY_RUNTIME]);
    log(`installed the CREATE2 proxy at ${CREATE2_PROXY} with hardhat_setCode`);
    return "installed-with-setCode";
  }
  try {
    const raw = presignedProxyDeployment();
    if ((await provider.getTransactionCount(CREATE2_PROXY_SIGNER)) !== 0) {
      log(`the proxy's one-time signer already used nonce 0 on this chain without creating the proxy`);
      return "unavailable";
    }
    const balance: bigint = await provider.getBalance(CREATE2_PROXY_SIGNER);
    if (balance < CREATE2_PROXY_FUNDING) {
      log(`funding the proxy's one-time signer ${CREATE2_PROXY_SIGNER} with ${CREATE2_PROXY_FUNDING - balance} wei`);
      await (await deployer.sendTransaction({ to: CREATE2_PROXY_SIGNER, value: CREATE2_PROXY_FUNDING - balance })).wait();
    }
    log(`broadcasting the proxy's presigned deployment transaction`);
    const tx = await provider.broadcastTransaction(raw);
    await tx.wait();
    if (await hasCode(provider, CREATE2_PROXY)) return "installed-with-presigned-tx";
  } catch (error) {
    log(`could not install the CREATE2 proxy: ${(error as Error).message.split("\n")[0]}`);
  }
  return "unavailable";
}

/** The block and transaction that created `vault` (its constructor's FeeRecipientChanged log), if findable. */
export async function findDeployment(ethers: any, vault: string): Promise<{ txHash: string; blockNumber: number } | null> {
  try {
    const topic = id("FeeRecipientChanged(address,address)");
    const logs = await ethers.provider.getLogs({
      address: vault,
      topics: [topic, "0x" + "00".repeat(32)],
      fromBlock: 0,
      toBlock: "latest",
    });
    if (logs.length === 0) return null;
    return { txHash: logs[0].transactionHash, blockNumber: logs[0].blockNumber };
  } catch {
    return null; // e.g. an RPC that limits log ranges
  }
}

/**
 * Deploys PaymentVault(admin, operator, feeRecipient) at its deterministic address, or does nothing if code
 * is already there. Falls back to a plain CREATE only if the proxy cannot be installed.
 */
export async function deployVault(ethers: any, deployer: any, args: VaultArgs, log: Log = () => {}): Promise<DeployResult> {
  const provider = ethers.provider;
  const chainId = Number((await provider.getNetwork()).chainId);
  const ordered = [getAddress(args.admin), getAddress(args.operator), getAddress(args.feeRecipient)];
  const factory = await ethers.getContractFactory("PaymentVault", deployer);
  const initCode: string = (await factory.getDeployTransaction(...ordered)).data;
  const initCodeHash = keccak256(initCode);
  const predicted = getCreate2Address(CREATE2_PROXY, VAULT_SALT, initCodeHash);
  const base = { chainId, initCodeHash };

  if (await hasCode(provider, predicted)) {
    log(`PaymentVault already deployed at ${predicted}: nothing to do`);
    const found = await findDeployment(ethers, predicted);
    return {
      ...base,
      vault: predicted,
      method: "create2-proxy",
      alreadyDeployed: true,
      proxy: "present",
      txHash: found?.txHash ?? null,
      blockNumber: found?.blockNumber ?? null,
    };
  }

  const proxy = await ensureCreate2Proxy(ethers, deployer, chainId, log);
  if (proxy === "unavailable") {
    log(`WARNING: deploying with a plain CREATE; the vault address will differ from chain to chain`);
    const vault = await factory.deploy(...ordered);
    const receipt = await vault.deploymentTransaction().wait();
    return {
      ...base,
      vault: await vault.getAddress(),
      method: "create",
      alreadyDeployed: false,
      proxy,
      txHash: receipt.hash,
      blockNumber: receipt.blockNumber,
    };
  }

  log(`deploying PaymentVault through ${CREATE2_PROXY} to ${predicted}`);
  const tx = await deployer.sendTransaction({ to: CREATE2_PROXY, data: concat([VAULT_SALT, initCode]) });
  const receipt = await tx.wait();
  if (receipt.status !== 1 || !(await hasCode(provider, predicted))) {
    throw new Error(`deployment through the CREATE2 proxy failed (tx ${tx.hash})`);
  }
  return {
    ...base,
    vault: predicted,
    method: "create2-proxy",
    alreadyDeployed: false,
    proxy,
    txHash: receipt.hash,
    blockNumber: receipt.blockNumber,
  };
}
