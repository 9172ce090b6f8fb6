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

/** One payout of a {@link PayoutBatch}: a {@link Payout} without the batch's merchant and deadline. */
export type PayoutItem = {
  kind: PayoutKind;
  token: Address;
  to: Address;
  amount: bigint;
  payoutId: bigint;
};

/** Many payouts of one merchant under one signature (IPaymentVault.PayoutBatch). */
export type PayoutBatch = {
  merchantId: bigint;
  /** unix seconds, for every payout of the batch */
  deadline: bigint;
  payouts: PayoutItem[];
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

/**
 * The batch type: `PayoutBatch(uint64 merchantId,uint64 deadline,PayoutItem[] payouts)` with
 * `PayoutItem(uint8 kind,address token,address to,uint256 amount,uint256 payoutId)`, so that a wallet
 * (eth_signTypedData_v4) lists every recipient and amount it authorises.
 */
export const PAYOUT_BATCH_TYPES = {
  PayoutBatch: [
    { name: "merchantId", type: "uint64" },
    { name: "deadline", type: "uint64" },
    { name: "payouts", type: "PayoutItem[]" },
  ],
  PayoutItem: [
    { name: "kind", type: "uint8" },
    { name: "token", type: "address" },
    { name: "to", type: "address" },
    { name: "amount", type: "uint256" },
    { name: "payoutId", type: "uint256" },
  ],
} as const;

/** The vault's EIP-712 domain. */
export function payoutDomain(chainId: number, vault: Address) {
  return { name: "PaymentVault", version: "1", chainId, verifyingContract: vault } as const;
}

/** The EIP-712 typed data the merchant's payout signer signs, exactly as PaymentVault verifies it. */
export function payoutTypedData(args: { chainId: number; vault: Address; payout: Payout }) {
  return {
    domain: payoutDomain(args.chainId, args.vault),
    types: PAYOUT_TYPES,
    primaryType: "Payout" as const,
    message: args.payout,
  };
}

/** The digest PaymentVault.hashPayout returns. */
export function payoutDigest(args: { chainId: number; vault: Address; payout: Payout }): Hex {
  return hashTypedData(payoutTypedData(args));
}

/** The EIP-712 typed data of a batch (PaymentVault.payoutBatch / relayPayouts verify it). */
export function payoutBatchTypedData(args: { chainId: number; vault: Address; batch: PayoutBatch }) {
  return {
    domain: payoutDomain(args.chainId, args.vault),
    types: PAYOUT_BATCH_TYPES,
    primaryType: "PayoutBatch" as const,
    message: args.batch,
  };
}

/** The digest PaymentVault.hashPayoutBatch returns. */
export function payoutBatchDigest(args: { chainId: number; vault: Address; batch: PayoutBatch }): Hex {
  return hashTypedData(payoutBatchTypedData(args));
}

/**
 * The JSON a browser wallet's `eth_signTypedData_v4` takes for a batch (EIP712Domain listed, integers as
 * decimal strings).
 */
export function payoutBatchTypedDataJson(args: { chainId: number; vault: Address; batch: PayoutBatch }): string {
  const typed = payoutBatchTypedData(args);
  return JSON.stringify(
    {
      types: {
        EIP712Domain: [
          { name: "name", type: "string" },
          { name: "version", type: "string" },
          { name: "chainId", type: "uint256" },
          { name: "verifyingContract", type: "address" },
        ],
        ...typed.types,
      },
      domain: typed.domain,
      primaryType: typed.primaryType,
      message: typed.message,
    },
    (_, v) => (typeof v === "bigint" ? v.toString() : v),
  );
}
