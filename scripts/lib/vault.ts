/**
 * Small helpers shared by the bench, the deploy script and the demo: deposit salts and addresses, and the
 * EIP-712 Payout type the merchant signs.
 */
import { getCreate2Address, toBeHex } from "ethers";

/** `IPaymentVault.DepositKind`. */
export const DepositKind = { Payment: 1, Recharge: 2 } as const;
/** `IPaymentVault.PayoutKind`. */
export const PayoutKind = { Refund: 0, Withdrawal: 1, Settlement: 2 } as const;

/** `PaymentVault.DEPLOY_FLAG`: set on a sweep entry whose address has no code yet. */
export const DEPLOY_FLAG = 1n << 191n;

export const NATIVE = "0x0000000000000000000000000000000000000000";

/** `merchantId << 192 | kind << 184 | key`, as `PaymentVault.depositSalt`. */
export function depositSalt(merchantId: bigint | number, kind: number, key: bigint | number): bigint {
  const k = BigInt(key);
  if (k >> 184n !== 0n) throw new Error(`deposit key too large: ${k}`);
  return (BigInt(merchantId) << 192n) | (BigInt(kind) << 184n) | k;
}

/** The CREATE2 deposit address of `salt` under `vault`, computed off-chain. */
export function depositAddress(vault: string, initCodeHash: string, salt: bigint): string {
  return getCreate2Address(vault, toBeHex(salt, 32), initCodeHash);
}

export const PAYOUT_TYPES = {
  Payout: [
    { name: "merchantId", type: "uint64" },
    { name: "kind", type: "uint8" },
    { name: "token", type: "address" },
    { name: "to", type: "address" },
    { name: "amount", type: "uint256" },
    { name: "payoutId", type: "uint256" },
    { name: "deadline", type: "uint64" },
  ],
};

export interface PayoutStruct {
  merchantId: bigint;
  kind: number;
  token: string;
  to: string;
  amount: bigint;
  payoutId: bigint;
  deadline: bigint;
}

export function payoutDomain(chainId: bigint, vault: string) {
  return { name: "PaymentVault", version: "1", chainId, verifyingContract: vault };
}

/** Anything with `signTypedData` (an ethers signer). */
export interface TypedDataSigner {
  signTypedData(domain: any, types: any, value: any): Promise<string>;
}

/** The merchant signer's EIP-712 signature of `p`. */
export async function signPayout(signer: TypedDataSigner, chainId: bigint, vault: string, p: PayoutStruct) {
  return signer.signTypedData(payoutDomain(chainId, vault), PAYOUT_TYPES, p);
}
