/**
 * Request and response types of the merchant API: Pay Protocol's wire format (the gateway's OpenAPI document at
 * `GET /api/openapi.json` is the reference). Amounts you send are decimals in the currency's units ("12.50");
 * amounts the gateway reports are integer strings in the smallest unit, next to `symbol` and `decimals`
 * (parse with BigInt, never with Number). `chainId` is the EVM chain id. Times are `YYYY-MM-DD HH:mm:ss` UTC.
 */

/** Pay Protocol's paymentStatus. */
export const PaymentStatus = { Paid: 0, Pending: 1, BlockConfirmation: 2, PartiallyPaid: 3, Failed: 4, Refunded: 5 } as const;
/** refundStatus, withdrawStatus, settlementStatus. */
export const PayoutStatus = { Success: 0, PendingApproval: 1, UnderReview: 2, BlockConfirmation: 3, Failure: 4, Rejected: 5 } as const;
/** rechargeStatus. */
export const RechargeStatus = { Success: 0, Pending: 1, Failure: 2 } as const;
/** A payment's `state` (seed 003's codes), shown next to paymentStatus. */
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

/** An id sent as a number or a numeric string. */
export type Id = number | string;
/** A decimal in the currency's units, as a string ("10.00") or a number. */
export type Decimal = string | number;

export type Chain = {
  chainId: number;
  chainName: string;
  chainCode: string;
  chainType: "EVM";
  evmChainId: number;
  confirmations: number;
  nativeCurrencySymbol: string | null;
  vaultAddress: string;
};

export type Currency = {
  currencyId: number;
  chainId: number;
  name: string;
  symbol: string;
  address: string;
  decimals: number | null;
  createTime: string;
  icon: string;
  isNative: boolean;
  /** the token's USD price (a decimal string) from the chain's price feeds; null when not priced. Addition */
  exchangeRate?: string | null;
};

export type CreatePaymentOrderParams = {
  chainId: Id;
  outTradeNo: string;
  quoteCurrencySymbol: string;
  quoteAmount: Decimal;
  notifyUrl: string;
  description?: string;
  /**
   * 0: a crypto quote (default). 1: a fiat quote: quoteCurrencySymbol is an ISO code (USD, CNY) and the amount
   * to pay is priced from the chain's price feeds, in currencyId or else the chain's first priced stablecoin
   * (40012 when the chain has no price feeds, 40013 when it cannot price that currency or coin, 50302 when a
   * feed refuses: retry later)
   */
  isLegalTender?: 0 | 1;
  redirectionUrl?: string;
  /** which currency of that symbol, when a chain accepts several */
  currencyId?: Id;
  /** lifetime of the unpaid order, seconds */
  expireSeconds?: number;
};

/** A fiat order's locked quote (isLegalTender 1); null for a crypto quote. Additions: absent from older gateways. */
export type FiatQuoteFields = {
  /** units of quoteCurrencySymbol per one whole token, the rate the amount was locked at */
  exchangeRate?: string | null;
  /** the price feed rounds the rate came from */
  rateSources?:
    { pair: string; feed: string; roundId: string; answer: string; decimals: number; updatedAt: number; blockNumber: string }[] | null;
  /** YYYY-MM-DD HH:mm:ss, UTC */
  quotedTime?: string | null;
  /** the amount holds at this rate until then (the order's expiry); YYYY-MM-DD HH:mm:ss, UTC */
  rateLockedUntil?: string | null;
};

export type CreatedPaymentOrder = FiatQuoteFields & {
  outPaymentNo: string;
  /** the payment page's path and query: prefix the gateway's payment host, or use paymentLink */
  paymentUrl: string;
  paymentLink: string;
  userWalletAddress: string;
  saltHash: string;
  outTradeNo: string;
  chainId: number;
  currencyId: number;
  symbol: string;
  decimals: number;
  expectedAmount: string;
  paymentStatus: number;
  state: number;
  accessSign: string;
  expireTime: string;
};

export type PaymentTransfer = {
  chainId: number;
  transferHash: string;
  logIndex: number;
  blockNumber: string;
  fromAddress: string | null;
  tokenAddress: string;
  currencyId: number;
  amount: string;
  confirmations: number;
  status: "seen" | "confirmed" | "removed";
  late: boolean;
  counted: boolean;
  /** how the gateway found it: a Transfer log, a native transaction, a call trace (a contract paid), a balance change */
  foundBy: "log" | "transaction" | "trace" | "balance";
  /** foundBy balance: the transactions found later that this balance change turned out to be (counted once) */
  matchedTxHashes: string[];
};

/** The payment object: payment/detail, payment/list and the payment callback. */
export type PaymentOrder = FiatQuoteFields & {
  chainId: number;
  orgId: number;
  outTradeNo: string;
  outPaymentNo: string;
  description: string;
  isLegalTender: number;
  quoteCurrencySymbol: string;
  quoteAmount: string;
  paymentStatus: number;
  paymentType: number;
  expectedAmount: string;
  settlementAmount: string;
  settlementCurrencySymbol: string;
  transferHash: string | null;
  userWalletAddress: string | null;
  fromAddress: string | null;
  createTime: string;
  arrivalTime: number | null;
  state: number;
  currencyId: number;
  symbol: string;
  decimals: number;
  chainCode: string | null;
  seenAmount: string;
  paidAmount: string;
  carriedAmount: string;
  refundedAmount: string;
  refundableAmount: string;
  refundPaidAmount: string;
  lateAmount: string;
  overpaidAmount: string;
  saltHash: string;
  paymentUrl: string;
  paymentLink: string;
  accessSign: string;
  notifyUrl: string;
  redirectionUrl: string | null;
  expireTime: string;
  transfers: PaymentTransfer[];
  earlierChoices: {
    chainId: number;
    currencyId: number;
    symbol: string;
    decimals: number;
    userWalletAddress: string | null;
    expectedAmount: string;
    seenAmount: string;
    paidAmount: string;
    switchTime: string;
  }[];
};

/** outTradeNo, and outPaymentNo when you have it (both must match). */
export type PaymentRef = { outTradeNo: string; outPaymentNo?: string } | { outTradeNo?: string; outPaymentNo: string };

export type PayInfo = {
  countDown: number;
  orgName: string;
  userWalletAddress: string;
  saltHash: string;
  chainId: number;
  currencyId: number;
  symbol: string;
  decimals: number;
  expectedAmount: string;
  paidAmount: string;
  paymentStatus: number;
};

export type PayInfoUpdate = FiatQuoteFields & {
  expectedAmount: string;
  userWalletAddress: string;
  saltHash: string;
  chainId: number;
  currencyId: number;
  symbol: string;
  decimals: number;
  paidAmount: string;
  paymentUrl: string;
  paymentLink: string;
  /** when the order expires (a fiat order's move starts a fresh countdown). Addition */
  expireTime?: string;
};

/** The query of every list: page from 1, size 1..500, status codes of that list, unix-second creation range. */
export type ListParams = {
  page?: number;
  size?: number;
  orderStatus?: number;
  chainId?: Id;
  transactionHash?: string;
  startTime?: number;
  endTime?: number;
};
export type Page<T> = { count: number; page: number; size: number; list: T[] };

/** The EIP-712 Payout a payout signer signs (integers as strings): viem `signTypedData` after turning them into bigints. */
export type PayoutTypedData = {
  domain: { name: string; version: string; chainId: number | string; verifyingContract: string };
  types: Record<string, { name: string; type: string }[]>;
  primaryType: string;
  message: Record<string, string | number>;
};

type PayoutCommon = {
  chainId: number;
  currencyId: number;
  transferHash: string | null;
  state: number;
  symbol: string;
  decimals: number | null;
  approvedBy: "merchant" | "gateway" | null;
  reason: string | null;
  notifyUrl: string | null;
  payoutDeadline: number;
  updateTime: string;
  lines: (Record<string, unknown> & {
    lineNo: number;
    payoutId: string;
    state: number;
    transferHash: string | null;
    reason: string | null;
    /** why the vault last skipped this payout while it may still be paid: it stays approved and reserved until paid or its deadline */
    skipReason: string | null;
    /** while pending approval: the EIP-712 Payout to sign */
    payoutTypedData?: PayoutTypedData;
  })[];
};

export type Refund = PayoutCommon & {
  refundId: number;
  outTradeNo: string;
  outPaymentNo: string;
  refundAddress: string;
  refundAmount: string;
  refundFee: string;
  refundStatus: number;
  refundTime: string;
  outRefundNo: string | null;
};

export type Withdrawal = PayoutCommon & {
  withdrawId: number;
  outTradeNo: string | null;
  /** comma-separated in line order when several */
  withdrawAddress: string;
  withdrawAmount: string;
  withdrawStatus: number;
  withdrawTime: string;
};

export type Settlement = PayoutCommon & {
  settlementId: number;
  outTradeNo: string | null;
  settlementAddress: string;
  settlementAmount: string;
  settlementStatus: number;
  settlementTime: string;
};

export type CreateRefundParams = {
  outTradeNo?: string;
  outPaymentNo?: string;
  /** default: everything received and not yet refunded */
  refundAmount?: Decimal;
  /** default: the payer */
  refundAddress?: string;
  notifyUrl?: string;
  /** an idempotency key: the same request again answers the same refund */
  outRefundNo?: string;
  reason?: string;
};
export type RefundRef = { refundId?: Id; outTradeNo?: string; outRefundNo?: string };

export type WithdrawApplyParams = {
  chainId: Id;
  currencyId: Id;
  /** one address, or several comma-separated, paired 1:1 with withdrawAmount */
  withdrawAddress: string;
  withdrawAmount: Decimal;
  outTradeNo?: string;
  notifyUrl?: string;
};
export type WithdrawRef = { withdrawId?: Id; outTradeNo?: string };

export type SettlementApplyParams = {
  chainId: Id;
  currencyId: Id;
  settlementAddress: string;
  settlementAmount: Decimal;
  outTradeNo?: string;
  notifyUrl?: string;
};
export type SettlementRef = { settlementId?: Id; outTradeNo?: string };

/** One EIP-712 signature per line (or `signature` for one line); none when the gateway holds the payout key. */
export type ApproveParams = { signature?: string; signatures?: string[] };
export type RejectParams = { reason?: string };

/** The pending applications of one batch (numbers; all on one chain). */
export type PayoutBatchRefs = { refundIds?: number[]; withdrawIds?: number[]; settlementIds?: number[] };
/** payout/batch/typedData: every line the batch approves, and the EIP-712 PayoutBatch to sign once. */
export type PayoutBatchTypedData = {
  chainId: number;
  /** unix seconds: the earliest line's deadline */
  deadline: number;
  items: {
    kind: "refund" | "withdrawal" | "settlement";
    lineNo: number;
    payoutId: string;
    toAddress: string;
    amount: string;
    symbol: string;
    decimals: number | null;
    [id: string]: unknown;
  }[];
  /** EIP712Domain listed, integers as strings (wallet-ready); PayoutItem[] under message.payouts */
  payoutTypedData: {
    domain: PayoutTypedData["domain"];
    types: PayoutTypedData["types"];
    primaryType: "PayoutBatch";
    message: Record<string, unknown>;
  };
};
export type PayoutBatchApproved = {
  batchId: string;
  payoutCount: number;
  deadline: number;
  refunds: Refund[];
  withdrawals: Withdrawal[];
  settlements: Settlement[];
};

export type User = {
  userId: number;
  uuid: string;
  createTime: string;
  userWallet: { chainId: number; walletId: number; walletAddress: string }[];
  userType: number;
};

export type Recharge = {
  chainId: number;
  rechargeId: number;
  userId: number;
  uuid: string;
  currencyId: number;
  rechargeAmount: string;
  rechargeStatus: number;
  transferHash: string;
  walletId: number | null;
  walletAddress: string;
  fromAddress: string | null;
  createTime: string;
  blockTime: string | null;
  state: number;
  symbol: string;
  decimals: number | null;
  tokenAddress: string;
  logIndex: number;
  blockNumber: string;
};

export type MerchantSettings = {
  orgId: number;
  name: string;
  feeBps: number;
  payoutSigner: string | null;
  payoutKeyMode: "merchant" | "gateway";
  gatewayKeyPresent: boolean;
  rechargeNotifyUrl: string | null;
  callbackAllEvents: boolean;
  webhookSecretHint: string;
  /** how much less than expectedAmount still counts as paid, basis points (0..1000); orders take it at creation. Addition */
  underpaymentToleranceBps?: number;
  createTime: string;
};
export type MerchantSettingsUpdate = {
  name?: string;
  rechargeNotifyUrl?: string | null;
  callbackAllEvents?: boolean;
  /** 0..1000 basis points, for orders created from now on */
  underpaymentToleranceBps?: number;
};

export type CreateQrCodeParams = {
  label: string;
  chainId: Id;
  currencyId: Id;
  notifyUrl: string;
  redirectionUrl?: string;
  maxAmount?: Decimal;
};
export type MerchantQrCode = {
  code: string;
  label: string;
  chainId: number;
  chainCode: string;
  currencyId: number;
  symbol: string;
  decimals: number;
  tokenAddress: string;
  maxAmount: string | null;
  notifyUrl: string;
  redirectionUrl: string | null;
  url: string;
  qrSvg: string;
  createTime: string;
};

/** Exactly one: an event id, or one order. */
export type WebhookAttemptsParams = {
  eventId?: string;
  outTradeNo?: string;
  refundId?: Id;
  withdrawId?: Id;
  rechargeId?: Id;
  settlementId?: Id;
};
export type WebhookLog = {
  events: {
    eventId: string;
    type: string;
    orderKind: string;
    orderId: string;
    status: "delivered" | "pending" | "dead" | "suppressed" | "waiting";
    attempts: number;
    nextAttemptTime: string | null;
    deliveredTime: string | null;
    lastError: string | null;
  }[];
  attempts: {
    eventId: string;
    eventType: string;
    attemptNo: number;
    url: string | null;
    httpStatus: number | null;
    error: string | null;
    durationMs: number;
    attemptTime: string;
  }[];
};

export type BillParams = { from: string; to: string };
/** A statement line (the gateway's addition): amounts are integer strings in the token's smallest unit. */
export type BillLine = {
  kind: "payment" | "refund" | "recharge" | "withdrawal" | "settlement" | "fee";
  id: string;
  merchantRef: string | null;
  relatedId: string | null;
  chainId: number;
  currencyId: number;
  symbol: string;
  decimals: number;
  /** paymentStatus / refundStatus / withdrawStatus / rechargeStatus by kind; null for fees */
  status: number | null;
  amount: string;
  paidAmount: string | null;
  fee: string | null;
  counterparty: string | null;
  transferHash: string | null;
  time: string;
};
/** Totals per token, integer strings in the token's smallest unit (`net` may be negative). */
export type BillTotal = {
  chainId: number;
  currencyId: number;
  symbol: string;
  decimals: number;
  received: string;
  recharged: string;
  refunded: string;
  refundsPending: string;
  withdrawn: string;
  withdrawalsPending: string;
  settled: string;
  fees: string;
  net: string;
};
export type Bill = {
  orgId: number;
  from: string;
  to: string;
  generateTime: string;
  feeBps: number;
  feeSource: "sweep_ledger" | "vault_events" | "fee_bps";
  lines: BillLine[];
  totals: BillTotal[];
};
