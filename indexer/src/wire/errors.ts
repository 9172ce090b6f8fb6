import { BaseError, IllegalTransitionError, InvalidAmountError } from "../domain/errors.js";
import { QuoteError } from "../pricing/errors.js";
import { DatabaseError } from "../store/db.js";
import { IdempotencyConflictError, NotFoundError, RefundAddressRequiredError } from "../store/errors.js";
import { PaymentMoveRefusedError } from "../store/paymentOrders.js";

/**
 * Stable error codes of the merchant API, in the envelope's `code` (success is 200). The first three digits
 * are the HTTP status. Pay Protocol publishes no error list (reference section 2.2), so these are the
 * gateway's; never renumber: merchants branch on them.
 */
export const ErrorCode = {
  InvalidRequest: 40001, // a field is missing, mistyped, malformed or unknown
  InvalidAmount: 40002,
  UnknownChain: 40003,
  UnknownToken: 40004,
  InvalidJson: 40005,
  RefundAddressRequired: 40006,
  InvalidPayoutSignature: 40007,
  PayoutSignerMissing: 40008,
  MissingAuth: 40101,
  UnknownApiKey: 40102,
  StaleTimestamp: 40103,
  BadSignature: 40104,
  /** the same signed write (same X-PAY-SIGN) was already accepted within the window */
  Replayed: 40105,
  PaymentOrderNotFound: 40401,
  UserNotFound: 40402,
  RefundOrderNotFound: 40403,
  WithdrawalOrderNotFound: 40405,
  RechargeOrderNotFound: 40406,
  RouteNotFound: 40404,
  IdempotencyConflict: 40901,
  IllegalState: 40902,
  PayloadTooLarge: 41301,
  RateLimited: 42901,
  Internal: 50001,
  Unavailable: 50301,
  // added with settlements and gateway-held payout keys (append only)
  SettlementOrderNotFound: 40407,
  SignatureNotExpected: 40009,
  // added with the create-time notify URL check (append only)
  NotifyUrlRefused: 40010,
  // added with Pay Protocol's wire format (issue 10; append only)
  /** a payout to the zero address, the vault or one of the gateway's deposit addresses */
  RecipientRefused: 40011,
  /** isLegalTender 1: no fiat price source is configured */
  FiatNotConfigured: 40012,
  /** a POST whose Content-Type is not application/json */
  UnsupportedMediaType: 41501,
  // added with fiat quotes (issue 14; append only)
  /** isLegalTender 1: the chain prices fiat, but not this currency or not this token */
  FiatUnpriced: 40013,
  /** isLegalTender 1: a price feed answered stale, zero, negative or off its peg, or could not be read: nothing was created */
  QuoteRefused: 50302,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Meaning of each code, for the API document (keep beside {ErrorCode}). */
export const ERROR_TEXT: Record<ErrorCode, string> = {
  [ErrorCode.InvalidRequest]: "a field is missing, mistyped, malformed or unknown, or a string holds a NUL byte (the message names it)",
  [ErrorCode.InvalidAmount]: "an amount is not a plain positive decimal, is zero, has more decimals than the token, or exceeds uint256",
  [ErrorCode.UnknownChain]: "chainId is not configured on this gateway (conf/list/chain lists them)",
  [ErrorCode.UnknownToken]:
    "the currency (quoteCurrencySymbol or currencyId) is not accepted on that chain (conf/list/currency lists them)",
  [ErrorCode.InvalidJson]: "the body is not valid JSON",
  [ErrorCode.RefundAddressRequired]: "the refund needs a refundAddress: the payer's address is not known",
  [ErrorCode.InvalidPayoutSignature]: "a payout signature does not recover to the merchant's payout signer",
  [ErrorCode.PayoutSignerMissing]: "the merchant has no payout signer registered",
  [ErrorCode.MissingAuth]: "X-PAY-KEY, X-PAY-TIMESTAMP or X-PAY-SIGN is missing or malformed",
  [ErrorCode.UnknownApiKey]: "X-PAY-KEY names no active key",
  [ErrorCode.StaleTimestamp]: "X-PAY-TIMESTAMP is more than 60 s from the server clock",
  [ErrorCode.BadSignature]: "X-PAY-SIGN does not match the request",
  [ErrorCode.Replayed]: "this signed write was already accepted (a write no business key makes idempotent is accepted once per signature)",
  [ErrorCode.PaymentOrderNotFound]: "no such payment order for this merchant",
  [ErrorCode.UserNotFound]: "no such user for this merchant",
  [ErrorCode.RefundOrderNotFound]: "no such refund for this merchant",
  [ErrorCode.WithdrawalOrderNotFound]: "no such withdrawal for this merchant",
  [ErrorCode.RechargeOrderNotFound]: "no such recharge for this merchant",
  [ErrorCode.RouteNotFound]: "no such route",
  [ErrorCode.IdempotencyConflict]: "the idempotency key (outTradeNo, outRefundNo, uuid, …) was used with different parameters",
  [ErrorCode.IllegalState]: "the order's state does not allow this action",
  [ErrorCode.PayloadTooLarge]: "the body is over 64 KiB",
  [ErrorCode.RateLimited]: "too many requests for this API key (per process); retry after the time given",
  [ErrorCode.Internal]: "internal error",
  [ErrorCode.Unavailable]: "the database is unavailable; retry",
  [ErrorCode.SettlementOrderNotFound]: "no such settlement for this merchant",
  [ErrorCode.SignatureNotExpected]: "the gateway holds this merchant's payout key (payoutKeyMode gateway): approve without signatures",
  [ErrorCode.NotifyUrlRefused]:
    "a notify URL names a loopback, private or link-local host (refused unless the operator sets allowPrivateWebhookTargets)",
  [ErrorCode.RecipientRefused]: "a payout recipient is the zero address, the vault or a deposit address of this gateway",
  [ErrorCode.FiatNotConfigured]: "isLegalTender 1 (a fiat quote) needs a fiat price source, which this gateway has not configured",
  [ErrorCode.UnsupportedMediaType]: "a POST body must be sent with Content-Type: application/json",
  [ErrorCode.FiatUnpriced]:
    "isLegalTender 1: the chain has no price feed for that fiat currency (quoteCurrencySymbol) or for the token to pay in (currencyId); conf/list/currency shows exchangeRate for priced tokens",
  [ErrorCode.QuoteRefused]:
    "isLegalTender 1: a price feed is stale, answered zero or a negative price, a stablecoin is off its peg, or the feed could not be read; no order was created: retry later",
};

export class ApiError extends BaseError {
  override name = "ApiError";
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    opts: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, opts);
    this.statusCode = Math.floor(code / 100);
  }
}

const NOT_FOUND: Record<NotFoundError["what"], [ErrorCode, string]> = {
  payment: [ErrorCode.PaymentOrderNotFound, "payment order"],
  refund: [ErrorCode.RefundOrderNotFound, "refund"],
  withdrawal: [ErrorCode.WithdrawalOrderNotFound, "withdrawal"],
  recharge: [ErrorCode.RechargeOrderNotFound, "recharge"],
  settlement: [ErrorCode.SettlementOrderNotFound, "settlement"],
  user: [ErrorCode.UserNotFound, "user"],
};

/** Maps any error to the API error a merchant sees (never leaking internals for unknown errors). */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof InvalidAmountError) return new ApiError(ErrorCode.InvalidAmount, e.shortMessage);
  if (e instanceof QuoteError) {
    // a refused quote never prices an order: the message names the feed and why
    if (e.reason === "invalid_amount") return new ApiError(ErrorCode.InvalidAmount, `Invalid quoteAmount: ${e.shortMessage}`);
    if (e.reason === "unpriced") return new ApiError(ErrorCode.FiatUnpriced, e.shortMessage);
    return new ApiError(ErrorCode.QuoteRefused, `No quote: ${e.shortMessage}`, { cause: e, retryable: true });
  }
  if (e instanceof NotFoundError) {
    const [code, noun] = NOT_FOUND[e.what];
    return new ApiError(code, `No ${noun} "${e.ref}" exists for this merchant: check the number`);
  }
  if (e instanceof IdempotencyConflictError) {
    return new ApiError(
      ErrorCode.IdempotencyConflict,
      `${e.field} "${e.value}" already names an order with different parameters: use a new ${e.field} or repeat the original request exactly`,
    );
  }
  if (e instanceof RefundAddressRequiredError) return new ApiError(ErrorCode.RefundAddressRequired, e.shortMessage);
  if (e instanceof PaymentMoveRefusedError) return new ApiError(ErrorCode.IllegalState, e.shortMessage);
  if (e instanceof IllegalTransitionError) return new ApiError(ErrorCode.IllegalState, e.message);
  if (e instanceof DatabaseError && e.sqlState === "23505") {
    return new ApiError(ErrorCode.IdempotencyConflict, "A concurrent request created the same object; repeat the request to get it");
  }
  if (e instanceof DatabaseError && (e.sqlState === "22021" || e.sqlState === "22P05")) {
    // belt and braces: NUL bytes are refused before any query (api/app.ts)
    return new ApiError(
      ErrorCode.InvalidRequest,
      "Invalid request: a text field holds a byte sequence the database cannot store (a NUL byte?)",
    );
  }
  if (e instanceof DatabaseError && e.retryable) {
    return new ApiError(ErrorCode.Unavailable, "The database is unavailable; retry later", { cause: e, retryable: true });
  }
  return new ApiError(ErrorCode.Internal, "Internal error; retry later or contact the gateway operator", { cause: e });
}
