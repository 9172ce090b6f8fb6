import { hashTypedData, type Address, type Hex } from "viem";

/** IPaymentVault.PayoutKind */
export const PayoutKind = { Refund: 0, Withdrawal: 1, Settlement: 2 } as const;
export type PayoutKind = (typeof PayoutKind)[keyof typeof PayoutKind];

export type Payout = {
  merchantId: bigint;
  kind: PayoutKind;
  token: Address;
  to: Address;
  amount: bigint;
  payoutId: bigint;
  /** unix seconds */
  deadline: bigint;
};

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
} as const;

/** The EIP-712 typed data the merchant's payout signer signs, exactly as PaymentVault verifies it. */
export function payoutTypedData(args: { chainId: number; vault: Address; payout: Payout }) {
  return {
    domain: { name: "PaymentVault", version: "1", chainId: args.chainId, verifyingContract: args.vault },
    types: PAYOUT_TYPES,
    primaryType: "Payout" as const,
    message: args.payout,
  };
}

/** The digest PaymentVault.hashPayout returns. */
export function payoutDigest(args: { chainId: number; vault: Address; payout: Payout }): Hex {
  return hashTypedData(payoutTypedData(args));
}
