import { BaseError } from "../domain/errors.js";

/** The object does not exist for this merchant (another merchant's object is reported the same way). */
export class NotFoundError extends BaseError {
  override name = "NotFoundError";
  constructor(
    readonly what: "payment" | "refund" | "user" | "withdrawal" | "recharge" | "settlement",
    readonly ref: string,
  ) {
    super(`${what} ${ref} not found`);
  }
}

/** An idempotency key was reused with different parameters. */
export class IdempotencyConflictError extends BaseError {
  override name = "IdempotencyConflictError";
  constructor(
    readonly field: string,
    readonly value: string,
  ) {
    super(`${field} "${value}" was already used with different parameters`);
  }
}

/** A refund needs a recipient: the payer's address is not known and the merchant named none. */
export class RefundAddressRequiredError extends BaseError {
  override name = "RefundAddressRequiredError";
  constructor(readonly payOrderId: string) {
    super(`The payer of ${payOrderId} is not known yet; name the refund's toAddress`);
  }
}

/** A payout recipient the vault must never pay (store/recipients.ts): `why` says which kind of address it is. */
export class RecipientRefusedError extends BaseError {
  override name = "RecipientRefusedError";
  constructor(readonly why: string) {
    super(`the recipient is ${why}: payouts go to an address outside this gateway`);
  }
}
