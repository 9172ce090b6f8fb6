/**
 * Small helpers shared by the bench, the deploy script and the demo: deposit salts and addresses, and the
 * EIP-712 Payout type the merchant signs.
 */
import { getCreate2Address, toBeHex } from "ethers";
import {
  PAYOUT_BATCH_TYPES as GATEWAY_PAYOUT_BATCH_TYPES,
  PAYOUT_TYPES as GATEWAY_PAYOUT_TYPES,
} from "../../indexer/src/domain/payoutTypedData.js";

/** `IPaymentVault.DepositKind`. */
export const DepositKind = { Payment: 1, Recharge: 2 } as const;
/** `IPaymentVault.PayoutKind`. */
export const PayoutKind = { Refund: 0, Withdrawal: 1, Settlement: 2 } as const;

/** `PaymentVault.DEPLOY_FLAG`: set on a sweep entry whose address may have no code yet (the vault checks). */
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

/** The vault's EIP-712 Payout type, from the gateway's one definition (a mutable copy, as ethers wants). */
export const PAYOUT_TYPES = { Payout: [...GATEWAY_PAYOUT_TYPES.Payout] };

/** The vault's EIP-712 PayoutBatch type (with PayoutItem), from the gateway's one definition. */
export const PAYOUT_BATCH_TYPES = {
  PayoutBatch: [...GATEWAY_PAYOUT_BATCH_TYPES.PayoutBatch],
  PayoutItem: [...GATEWAY_PAYOUT_BATCH_TYPES.PayoutItem],
};

export interface PayoutItemStruct {
  kind: number;
  token: string;
  to: string;
  amount: bigint;
  payoutId: bigint;
}

export interface PayoutBatchStruct {
  merchantId: bigint;
  deadline: bigint;
  payouts: PayoutItemStruct[];
}

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

/** The merchant signer's EIP-712 signature of the batch `b`. */
export async function signPayoutBatch(signer: TypedDataSigner, chainId: bigint, vault: string, b: PayoutBatchStruct) {
  return signer.signTypedData(payoutDomain(chainId, vault), PAYOUT_BATCH_TYPES, b);
}
