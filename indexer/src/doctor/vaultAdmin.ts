import {
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  encodeFunctionData,
  http,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ChainConfig } from "../config.js";
import { BaseError } from "../domain/errors.js";
import { VAULT_ADMIN_ABI, VAULT_ROLES, type VaultRole } from "./vaultAbi.js";

/**
 * The vault calls only an admin can make (the fixes the doctor names): register a merchant, set its fee,
 * allowlist a token, grant a role, hand over a merchant's signer. Each is built as plain calldata, so it
 * can be sent with a key or printed for a multisig (Safe's transaction builder takes `to`, `value`, `data`).
 */
export type AdminCall = {
  chainId: number;
  to: Address;
  value: "0";
  data: Hex;
  /** what it does, in words */
  description: string;
  /** who must send it */
  sender: VaultRole | "the merchant's current signer";
};

type Fn = Parameters<typeof encodeFunctionData<typeof VAULT_ADMIN_ABI>>[0];
const call = (chain: ChainConfig, fn: Fn, description: string, sender: AdminCall["sender"]): AdminCall => ({
  chainId: chain.chainId,
  to: chain.vault,
  value: "0",
  data: encodeFunctionData(fn),
  description,
  sender,
});

export const registerMerchantCall = (chain: ChainConfig, merchantId: bigint, signer: Address, feeBps: number) =>
  call(
    chain,
    { abi: VAULT_ADMIN_ABI, functionName: "registerMerchant", args: [merchantId, signer, feeBps] },
    `registerMerchant(${merchantId}, ${signer}, ${feeBps}) on chain ${chain.chainId}`,
    "merchant-admin",
  );

export const setMerchantFeeCall = (chain: ChainConfig, merchantId: bigint, feeBps: number) =>
  call(
    chain,
    { abi: VAULT_ADMIN_ABI, functionName: "setMerchantFee", args: [merchantId, feeBps] },
    `setMerchantFee(${merchantId}, ${feeBps}) on chain ${chain.chainId}`,
    "merchant-admin",
  );

export const setTokenAllowedCall = (chain: ChainConfig, token: Address, allowed: boolean) =>
  call(
    chain,
    { abi: VAULT_ADMIN_ABI, functionName: "setTokenAllowed", args: [token, allowed] },
    `setTokenAllowed(${token}, ${allowed}) on chain ${chain.chainId}`,
    "merchant-admin",
  );

export const grantRoleCall = (chain: ChainConfig, role: VaultRole, account: Address, revoke = false) =>
  call(
    chain,
    { abi: VAULT_ADMIN_ABI, functionName: revoke ? "revokeRole" : "grantRole", args: [VAULT_ROLES[role], account] },
    `${revoke ? "revokeRole" : "grantRole"}(${role}, ${account}) on chain ${chain.chainId}`,
    "admin",
  );

export const setMerchantSignerCall = (chain: ChainConfig, merchantId: bigint, newSigner: Address) =>
  call(
    chain,
    { abi: VAULT_ADMIN_ABI, functionName: "setMerchantSigner", args: [merchantId, newSigner] },
    `setMerchantSigner(${merchantId}, ${newSigner}) on chain ${chain.chainId}`,
    "the merchant's current signer",
  );

/** A vault call refused before or after it was sent; the message names the vault's error. */
export class AdminCallError extends BaseError {
  override name = "AdminCallError";
}

export function adminClient(chain: ChainConfig): PublicClient {
  if (!chain.rpcUrl) throw new AdminCallError(`chain ${chain.chainId} has no rpcUrl in the config`);
  return createPublicClient({ transport: http(chain.rpcUrl, { retryCount: 1, timeout: 15_000 }), cacheTime: 0 }) as PublicClient;
}

/** The vault's custom error in a failed call, as `Name(arg, …)`, or the first line of the message. */
export function explainRevert(e: unknown): string {
  type ErrorLink = { cause?: unknown; raw?: unknown; data?: string | { data?: unknown; errorName?: string; args?: unknown[] } };
  for (let cur = e as ErrorLink | undefined; cur; cur = cur.cause as ErrorLink | undefined) {
    const d = cur.data;
    const data = typeof d === "string" ? d : typeof d?.data === "string" ? d.data : typeof cur.raw === "string" ? cur.raw : undefined;
    if (data && data.length >= 10) {
      try {
        const decoded = decodeErrorResult({ abi: VAULT_ADMIN_ABI, data: data as Hex });
        return `${decoded.errorName}(${(decoded.args ?? []).map(String).join(", ")})`;
      } catch {}
    }
    if (typeof d === "object" && d?.errorName) return `${d.errorName}(${(d.args ?? []).map(String).join(", ")})`;
  }
  return ((e as { shortMessage?: string }).shortMessage ?? (e as Error).message ?? String(e)).split("\n")[0]!;
}

/**
 * Sends an admin call with `privateKey` and waits for its receipt. The call is simulated first, so a missing
 * role or a vault error is reported before anything is signed.
 */
export async function sendAdminCall(chain: ChainConfig, c: AdminCall, privateKey: Hex, onProgress: (line: string) => void = () => {}) {
  const account = privateKeyToAccount(privateKey);
  const client = adminClient(chain);
  const actual = await client.getChainId().catch((e) => {
    throw new AdminCallError(`the RPC of chain ${chain.chainId} does not answer: ${explainRevert(e)}`);
  });
  if (actual !== chain.chainId) throw new AdminCallError(`the RPC serves chain ${actual}, not ${chain.chainId}`);
  try {
    await client.call({ account: account.address, to: c.to, data: c.data });
  } catch (e) {
    throw new AdminCallError(
      `the vault refuses ${c.description} from ${account.address}: ${explainRevert(e)} (it must be sent by: ${c.sender})`,
    );
  }
  const rpcChain = {
    id: chain.chainId,
    name: chain.name,
    nativeCurrency: { name: "native", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [chain.rpcUrl!] } },
  };
  const wallet = createWalletClient({ account, chain: rpcChain, transport: http(chain.rpcUrl!) });
  const hash = await wallet.sendTransaction({ to: c.to, data: c.data, value: 0n });
  onProgress(`sent ${c.description} from ${account.address}: ${hash}, waiting for the receipt`);
  const receipt = await client.waitForTransactionReceipt({ hash, timeout: 180_000 });
  if (receipt.status !== "success") throw new AdminCallError(`${c.description} reverted in block ${receipt.blockNumber} (${hash})`);
  return { hash, blockNumber: receipt.blockNumber, from: account.address };
}

/** The vault's view of a merchant (zero signer: not registered). */
export async function readMerchant(client: PublicClient, vault: Address, merchantId: bigint): Promise<{ signer: Address; feeBps: number }> {
  const m = (await client.readContract({ address: vault, abi: VAULT_ADMIN_ABI, functionName: "merchant", args: [merchantId] })) as {
    signer: Address;
    feeBps: number;
  };
  return { signer: m.signer, feeBps: Number(m.feeBps) };
}
