import { NATIVE_TOKEN } from "../config.js";

/**
 * The EIP-681 URI a wallet app scans: an ERC-20 `transfer(receipt, amount)` on the token contract, or a
 * plain value transfer for the native coin. Amounts are integers in base units (EIP-681 allows
 * scientific notation too; plain digits are what every wallet reads).
 */
export function paymentUri(p: { chainId: number; token: string; receipt: string; amount: bigint }): string {
  if (p.token.toLowerCase() === NATIVE_TOKEN) return `ethereum:${p.receipt}@${p.chainId}?value=${p.amount}`;
  return `ethereum:${p.token}@${p.chainId}/transfer?address=${p.receipt}&uint256=${p.amount}`;
}
