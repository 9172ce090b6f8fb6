/**
 * The one error base of the gateway. Every error says whether trying the same thing again later can
 * succeed (`retryable`): that split drives webhook retries, job retries and follower restarts.
 */
export type BaseErrorParameters = {
  details?: string;
  cause?: unknown;
  retryable?: boolean;
};

export class BaseError extends Error {
  override name = "BaseError";
  readonly shortMessage: string;
  readonly details?: string;
  readonly retryable: boolean;

  constructor(shortMessage: string, { details, cause, retryable = false }: BaseErrorParameters = {}) {
    super(details ? `${shortMessage}\n\nDetails: ${details}` : shortMessage, { cause });
    this.shortMessage = shortMessage;
    this.details = details;
    this.retryable = retryable;
  }
}

/** A human or base-unit amount that cannot be represented exactly in the token's decimals. */
export class InvalidAmountError extends BaseError {
  override name = "InvalidAmountError";
  constructor(
    readonly amount: string,
    reason: string,
  ) {
    super(`Invalid amount "${amount}": ${reason}`);
  }
}

/** An order was asked to make a move its state machine does not allow. */
export class IllegalTransitionError extends BaseError {
  override name = "IllegalTransitionError";
  constructor(
    readonly orderKind: string,
    readonly from: number,
    readonly event: string,
    reason?: string,
  ) {
    super(`A ${orderKind} order in state ${from} cannot take event "${event}"${reason ? `: ${reason}` : ""}`);
  }
}

/** A deposit-address input is out of range (merchant id, kind or key). */
export class InvalidDepositKeyError extends BaseError {
  override name = "InvalidDepositKeyError";
}
