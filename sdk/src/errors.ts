/**
 * An answer from the gateway whose envelope `code` is not 200, or an answer that is not the envelope at
 * all (then `code` is 0 and `msg` says what came back). `code` is the gateway's stable error code
 * (40002 invalid amount, 40104 bad signature, 40901 conflict, …); `httpStatus` the HTTP status.
 */
export class PayApiError extends Error {
  override name = "PayApiError";
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly httpStatus: number,
    /** the method and path of the call, for logs */
    readonly endpoint: string,
  ) {
    super(`${endpoint}: ${code} ${msg}`);
  }
  /** Worth retrying (signed again, with a new timestamp): rate limited, database unavailable, internal errors, no answer. */
  get retryable(): boolean {
    return this.httpStatus === 429 || this.httpStatus >= 500 || this.code === 0;
  }
}

/** A callback whose headers, signature or timestamp do not check out: answer it with a 4xx and drop it. */
export class WebhookVerificationError extends Error {
  override name = "WebhookVerificationError";
}
