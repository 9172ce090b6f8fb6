import { decodeErrorResult, parseAbi, type Hex } from "viem";

/** The vault functions and errors the money movers use (IPaymentVault). */
export const VAULT_CALLS_ABI = parseAbi([
  "function sweep(address token, uint256[] entries, uint256[] amounts)",
  "function payout((uint64 merchantId, uint8 kind, address token, address to, uint256 amount, uint256 payoutId, uint64 deadline) p, bytes signature)",
  "function payoutBatch((uint64 merchantId, uint64 deadline, (uint8 kind, address token, address to, uint256 amount, uint256 payoutId)[] payouts) batch, bytes signature)",
  "function isPayoutIdUsed(uint64 merchantId, uint256 payoutId) view returns (bool)",
  "function accountOf(uint64 merchantId, address token) view returns (uint256 balance, uint256 feesAccrued)",
  "error VaultInsufficientBalance(uint64 merchantId, address token, uint256 balance, uint256 requested)",
  "error VaultPayoutExpired(uint256 payoutId, uint64 deadline, uint256 nowTimestamp)",
  "error VaultPayoutIdUsed(uint64 merchantId, uint256 payoutId)",
  "error VaultInvalidSignature(uint64 merchantId)",
  "error VaultNotMerchantSigner(uint64 merchantId, address caller)",
  "error VaultUnknownMerchant(uint64 merchantId)",
  "error VaultTokenNotAllowed(address token)",
  "error VaultNativeTransferFailed(address to, uint256 amount)",
  "error VaultTokenTransferFailed(address token, address to, uint256 amount)",
  "error VaultRecipientIsVault()",
  "error VaultZeroAddress(string what)",
  "error VaultZeroAmount()",
  "error VaultSweepShortfall(address token, uint256 credited, uint256 arrived)",
  "error EnforcedPause()",
]);

/** `relayPayouts`, apart: its nested tuples are read by parseAbi's struct syntax. */
export const VAULT_RELAY_ABI = parseAbi([
  "struct Payout { uint64 merchantId; uint8 kind; address token; address to; uint256 amount; uint256 payoutId; uint64 deadline; }",
  "struct PayoutItem { uint8 kind; address token; address to; uint256 amount; uint256 payoutId; }",
  "struct PayoutBatch { uint64 merchantId; uint64 deadline; PayoutItem[] payouts; }",
  "struct SignedPayout { Payout payout; bytes signature; }",
  "struct SignedPayoutBatch { PayoutBatch batch; bytes signature; }",
  "function relayPayouts(SignedPayout[] payouts, SignedPayoutBatch[] batches)",
]);

export const ERC20_BALANCE_ABI = parseAbi(["function balanceOf(address) view returns (uint256)"]);

/**
 * `PaymentVault.DEPLOY_FLAG`: set on a sweep entry unless the address's code is known to exist (the vault
 * checks the code of a flagged address and deploys it only if it has none, so a flag is never wrong).
 */
export const DEPLOY_FLAG = 1n << 191n;

/** The vault error's name in a failed call (viem error chain), or undefined when it is not one of ours. */
export function vaultErrorName(e: unknown): string | undefined {
  for (let cur: any = e; cur; cur = cur.cause) {
    if (cur.data?.errorName) return cur.data.errorName;
    const data: Hex | undefined = typeof cur.data === "string" ? cur.data : typeof cur.data?.data === "string" ? cur.data.data : undefined;
    if (data && data.length >= 10) {
      try {
        return decodeErrorResult({ abi: VAULT_CALLS_ABI, data }).errorName;
      } catch {}
    }
  }
  return undefined;
}

/**
 * Vault errors a payout signed with these fields can never get past, whatever changes on chain (balances,
 * recipients, the merchant's signer): only these fail a payout while its signature is still valid. Any
 * other reason may pass later, and the signature lets anyone relay it until the deadline.
 */
export const NEVER_PAYABLE_ERRORS: ReadonlySet<string> = new Set(["VaultZeroAddress", "VaultZeroAmount", "VaultRecipientIsVault"]);

/** The vault error's name in ABI-encoded bytes (PayoutSkipped.reason), or undefined when it is not one of ours. */
export function vaultErrorNameOf(data: string): string | undefined {
  try {
    return decodeErrorResult({ abi: VAULT_CALLS_ABI, data: data as Hex }).errorName;
  } catch {
    return undefined;
  }
}

/** A vault error's ABI-encoded bytes (PayoutSkipped.reason) as text: its name and arguments, or the raw bytes. */
export function vaultErrorText(data: string): string {
  try {
    const e = decodeErrorResult({ abi: VAULT_CALLS_ABI, data: data as Hex });
    const args = (e.args ?? []).map((a) => String(a));
    return args.length ? `${e.errorName}(${args.join(", ")})` : e.errorName;
  } catch {
    return `unknown vault error ${data}`;
  }
}
