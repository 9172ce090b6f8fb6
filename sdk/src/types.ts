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
  /** payment/detail only: every transfer recorded against the order (late, removed and other-token ones included) */
  transfers?: PaymentTransfer[];
  lateAmount?: string;
  lateAmountBaseUnits?: string;
  overpaidAmount?: string;
  overpaidAmountBaseUnits?: string;
};

export type PaymentTransfer = {
  txHash: string;
  /** -1: a native transfer seen only as a transaction */
  logIndex: number;
  blockNumber: string;
  from: string;
  token: string;
  /** human amount in the order's token; null for another token */
  amount: string | null;
  amountBaseUnits: string;
  confirmations: number;
  status: "seen" | "confirmed" | "removed";
  late: boolean;
  tokenMatches: boolean;
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
  approvedBy?: ApprovedBy;
  createTime: string;
};

/** `signature`: the payout signer's EIP-712 signature over payoutTypedData; omit it when payoutKeyMode is gateway */
export type ApproveParams = { signature?: string };
/** who signed the approval; null until approved */
export type ApprovedBy = "merchant" | "gateway" | null;
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
  approvedBy?: ApprovedBy;
  txHash: string | null;
  reason: string | null;
  notifyUrl: string | null;
  createTime: string;
};

export type SettlementRef =
  | { settlementOrderId: string; merchantSettlementId?: never }
  | { merchantSettlementId: string; settlementOrderId?: never };

export type SettlementApplyParams = {
  merchantSettlementId: string;
  chainId: number;
  token: string;
  amount: string;
  /** the merchant's own address */
  toAddress: string;
  notifyUrl?: string;
};

export type SettlementOrder = {
  settlementOrderId: string;
  merchantSettlementId: string;
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
  approvedBy?: ApprovedBy;
  txHash: string | null;
  reason: string | null;
  notifyUrl: string | null;
  createTime: string;
};

export type MerchantSettings = {
  merchantId: string;
  name: string;
  feeBps: number;
  payoutSigner: string | null;
  payoutKeyMode: "merchant" | "gateway";
  gatewayKeyPresent?: boolean;
  rechargeNotifyUrl: string | null;
  /** whsec_… and the last 4 characters, never the secret */
  webhookSecretHint: string;
  createTime?: string;
};
/** `rechargeNotifyUrl: null` clears it */
export type MerchantSettingsUpdate = { name?: string; rechargeNotifyUrl?: string | null };

export type CreateQrCodeParams = {
  /** the counter's name, unique per merchant: repeating a create returns the same code */
  label: string;
  chainId: number;
  token: string;
  notifyUrl: string;
  redirectionUrl?: string;
  /** largest amount a payer may type (human units) */
  maxAmount?: string;
};
export type MerchantQrCode = {
  code: string;
  label: string;
  chainId: number;
  chainCode: string;
  token: string;
  tokenSymbol: string;
  decimals: number;
  maxAmount: string | null;
  notifyUrl: string;
  redirectionUrl: string | null;
  /** the permanent payment link */
  url: string;
  /** SVG QR code of url */
  qrSvg: string;
  createTime: string;
};

/** Exactly one of the parameters. */
export type WebhookAttemptsParams =
  | { eventId: string }
  | { payOrderId: string }
  | { refundOrderId: string }
  | { withdrawOrderId: string }
  | { rechargeOrderId: string };
export type WebhookLog = {
  events: {
    eventId: string;
    type: string;
    orderKind: string;
    orderId: string;
    /** delivered, pending (retrying) or dead (retries exhausted; re-send with …/notify) */
    status: string;
    attempts: number;
    nextAttemptTime?: string | null;
    deliveredTime?: string | null;
    lastError?: string | null;
  }[];
  attempts: {
    eventId: string;
    eventType: string;
    attemptNo: number;
    url?: string | null;
    /** null when no answer came */
    httpStatus?: number | null;
    error?: string | null;
    durationMs: number;
    attemptTime: string;
  }[];
};

export type BillParams = {
  /** start of the period: `YYYY-MM-DD`, `YYYY-MM-DD HH:mm:ss` or ISO 8601 (UTC), inclusive */
  from: string;
  /** end of the period, exclusive */
  to: string;
};

type Totals<F extends string> = { [K in F]: string } & { [K in `${F}BaseUnits`]: string };
/** Per (chain, token); `net` = received + recharged - fees - refunded - withdrawn - settled (may be negative). */
export type BillTokenTotal = { chainId: number; token: string; tokenSymbol: string; decimals: number } & Totals<
  "received" | "recharged" | "refunded" | "refundsPending" | "withdrawn" | "withdrawalsPending" | "settled" | "fees" | "net"
>;

export type BillLine = {
  kind: "payment" | "refund" | "recharge" | "withdrawal" | "settlement" | "fee";
  id: string;
  merchantRef: string | null;
  /** refunds: the payOrderId */
  relatedId: string | null;
  chainId: number;
  token: string;
  tokenSymbol: string;
  state: number | null;
  amount: string;
  amountBaseUnits: string;
  paidAmount: string | null;
  paidBaseUnits: string | null;
  fee: string | null;
  feeBaseUnits: string | null;
  counterparty: string | null;
  txHash: string | null;
  time: string;
};

export type Bill = {
  merchantId: string;
  from: string;
  to: string;
  generatedAt: string;
  feeBps: number;
  /** sweep_ledger, vault_events (the vault's Swept fees) or fee_bps (an estimate before any sweep) */
  feeSource: "sweep_ledger" | "vault_events" | "fee_bps";
  lines: BillLine[];
  totals: BillTokenTotal[];
};

/** A webhook body: `{ eventId, type, data }` (eventId = X-PAY-EVENT-ID, the same across retries). */
export type WebhookEvent<T = Record<string, unknown>> = { eventId: string; type: string; data: T };
