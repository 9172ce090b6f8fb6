/**
 * Request and response types of the merchant API (indexer/README.md "Merchant API"). Amounts in
 * requests are human decimal strings ("12.50"); responses give the human amount and `amountBaseUnits`
 * (a decimal string of token base units: parse with BigInt, never with Number). Times are
 * `YYYY-MM-DD HH:mm:ss` UTC; `expireAt` is unix ms.
 */

/** Payment order states (seed 003). */
export const PaymentState = {
  Unpaid: 0,
  Incomplete: 1,
  AwaitingConfirmation: 2,
  Confirming: 3,
  Success: 4,
  Failed: -1,
  Expired: -2,
  Cancelled: -3,
} as const;
/** Refund and withdrawal states. */
export const PayoutState = { PendingApproval: 0, Approved: 1, Broadcast: 2, Success: 3, Rejected: -1, Failed: -2 } as const;
/** Recharge states. */
export const RechargeState = { AwaitingConfirmation: 2, Confirming: 3, Success: 4, Dropped: -1 } as const;

/** Exactly one of the two references. */
export type PaymentRef = { payOrderId: string; merchantOrderId?: never } | { merchantOrderId: string; payOrderId?: never };
export type RefundRef = { refundOrderId: string; merchantRefundId?: never } | { merchantRefundId: string; refundOrderId?: never };
export type WithdrawRef = { withdrawOrderId: string; merchantWithdrawId?: never } | { merchantWithdrawId: string; withdrawOrderId?: never };
export type UserRef = { userId: string; uuid?: never } | { uuid: string; userId?: never };

export type CreatePaymentOrderParams = {
  merchantOrderId: string;
  chainId: number;
  /** symbol ("USDT") or token address; 0x000…0 = the native coin */
  token: string;
  /** human amount, e.g. "12.50" */
  amount: string;
  notifyUrl: string;
  redirectionUrl?: string;
  /** 60 .. the gateway's maximum; counts in the idempotency hash, so a retry must repeat it */
  expireSeconds?: number;
};

export type PaymentOrder = {
  payOrderId: string;
  merchantOrderId: string;
  state: number;
  chainId: number;
  chainCode: string;
  token: string;
  tokenSymbol: string;
  decimals: number;
  amount: string;
  amountBaseUnits: string;
  seenAmount: string;
  paidAmount: string;
  refundedAmount: string;
  refundableAmount: string;
  receiptAddress: string;
  payerAddress: string | null;
  accessSign: string;
  paymentUrl: string;
  notifyUrl: string;
  redirectionUrl: string | null;
  expireTime: string;
  expireAt: number;
  createTime: string;
};

export type EventIdResult = { eventId: string };

export type CreateRefundOrderParams = {
  merchantRefundId: string;
  amount: string;
  /** defaults to the payer's address */
  toAddress?: string;
  reason?: string;
  notifyUrl?: string;
} & PaymentRef;

/** EIP-712 typed data (integers as decimal strings) the merchant's payout signer signs to approve. */
export type PayoutTypedData = {
  domain: { name: string; version: string; chainId: string | number; verifyingContract: string };
  types: Record<string, { name: string; type: string }[]>;
  primaryType: string;
  message: Record<string, string | number>;
};

export type RefundOrder = {
  refundOrderId: string;
  merchantRefundId: string;
  payOrderId: string;
  merchantOrderId: string;
  state: number;
  amount: string;
  amountBaseUnits: string;
  toAddress: string;
  payoutId: string;
  txHash: string | null;
  reason: string | null;
  notifyUrl: string | null;
  /** unix seconds */
  payoutDeadline: number;
  /** only while pending approval */
  payoutTypedData?: PayoutTypedData;
  createTime: string;
};

export type ApproveParams = { signature: string };
export type RejectParams = { reason?: string };

export type CreateUserParams = { uuid: string; userType?: number };
export type User = {
  userId: number;
  uuid: string;
  userType: number;
  createTime: string;
  userWallet: { walletId: number; chainId: number; walletAddress: string }[];
};

export type RechargeOrder = {
  rechargeOrderId: string;
  userId: number;
  uuid: string;
  state: number;
  chainId: number;
  token: string;
  tokenSymbol: string;
  amount: string;
  amountBaseUnits: string;
  fromAddress: string;
  toAddress: string;
  txHash: string;
  logIndex: number;
  blockNumber: string;
  createTime: string;
};

export type RechargeListParams = {
  cursor?: string;
  /** 1..100, default 20 */
  limit?: number;
  userId?: string;
  uuid?: string;
  chainId?: number;
  state?: number;
  /** token address */
  token?: string;
};
export type RechargePage = { list: RechargeOrder[]; nextCursor: string | null };

export type WithdrawApplyParams = {
  merchantWithdrawId: string;
  chainId: number;
  token: string;
  amount: string;
  toAddress: string;
  notifyUrl?: string;
} & UserRef;

export type WithdrawOrder = {
  withdrawOrderId: string;
  merchantWithdrawId: string;
  userId: number;
  state: number;
  chainId: number;
  token: string;
  tokenSymbol: string;
  amount: string;
  amountBaseUnits: string;
  toAddress: string;
  payoutId: string;
  payoutDeadline: number;
  payoutTypedData?: PayoutTypedData;
  txHash: string | null;
  reason: string | null;
  notifyUrl: string | null;
  createTime: string;
};

export type BillParams = {
  /** start of the period: `YYYY-MM-DD`, `YYYY-MM-DD HH:mm:ss` or ISO 8601 (UTC), inclusive */
  from: string;
  /** end of the period, exclusive */
  to: string;
};

export type BillTokenTotal = {
  chainId: number;
  token: string;
  tokenSymbol: string;
  decimals: number;
  /** every amount twice: base units and human */
  [field: string]: string | number;
};

export type Bill = {
  merchantId: string;
  from: string;
  to: string;
  generatedAt: string;
  feeSource: string;
  lines: BillLine[];
  totals: BillTokenTotal[];
};

export type BillLine = {
  kind: "payment" | "refund" | "recharge" | "withdrawal" | "settlement" | "fee";
  id: string;
  merchantRef: string | null;
  chainId: number;
  token: string;
  tokenSymbol: string;
  state: number | string;
  amount: string;
  amountBaseUnits: string;
  time: string;
  txHash: string | null;
  [field: string]: unknown;
};

/** A webhook body: `{ eventId, type, data }` (eventId = X-PAY-EVENT-ID, the same across retries). */
export type WebhookEvent<T = Record<string, unknown>> = { eventId: string; type: string; data: T };
