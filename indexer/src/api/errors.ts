import { BaseError, IllegalTransitionError, InvalidAmountError } from "../domain/errors.js";
import { DatabaseError } from "../store/db.js";
import { IdempotencyConflictError, NotFoundError, RefundAddressRequiredError } from "../store/errors.js";

/**
 * Stable error codes of the merchant API. The first three digits are the HTTP status.
 * Never renumber: merchants branch on them.
 */
export const ErrorCode = {
  InvalidRequest: 40001, // schema validation: missing, mistyped or malformed field
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
  NonceReused: 40105,
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
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

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

/** Maps any error to the API error a merchant sees (never leaking internals for unknown errors). */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof InvalidAmountError) return new ApiError(ErrorCode.InvalidAmount, e.shortMessage);
  if (e instanceof NotFoundError) {
    return new ApiError(
      e.what === "user"
        ? ErrorCode.UserNotFound
        : e.what === "refund"
          ? ErrorCode.RefundOrderNotFound
          : e.what === "withdrawal"
            ? ErrorCode.WithdrawalOrderNotFound
            : e.what === "recharge"
              ? ErrorCode.RechargeOrderNotFound
              : e.what === "settlement"
                ? ErrorCode.SettlementOrderNotFound
                : ErrorCode.PaymentOrderNotFound,
      `No ${e.what === "user" ? "user" : `${e.what} order`} "${e.ref}" exists for this merchant: check the id`,
    );
  }
  if (e instanceof IdempotencyConflictError) {
    return new ApiError(
      ErrorCode.IdempotencyConflict,
      `${e.field} "${e.value}" already names an order with different parameters: use a new ${e.field} or repeat the original request exactly`,
    );
  }
  if (e instanceof RefundAddressRequiredError) return new ApiError(ErrorCode.RefundAddressRequired, e.shortMessage);
  if (e instanceof IllegalTransitionError) return new ApiError(ErrorCode.IllegalState, e.message);
  if (e instanceof DatabaseError && e.sqlState === "23505") {
    return new ApiError(ErrorCode.IdempotencyConflict, "A concurrent request created the same object id; repeat the request to get it");
  }
  if (e instanceof DatabaseError && e.retryable) {
    return new ApiError(ErrorCode.Unavailable, "The database is unavailable; retry later", { cause: e, retryable: true });
  }
  return new ApiError(ErrorCode.Internal, "Internal error; retry later or contact the gateway operator", { cause: e });
}

