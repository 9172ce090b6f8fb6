import { BaseError } from "../domain/errors.js";

/**
 * Why no quote was made. A refused quote never prices an order:
 * - `stale`: the feed's `updatedAt` is older than its heartbeat (or the round is incomplete: `updatedAt` 0)
 * - `zero`, `negative`: the feed answered a price that cannot be
 * - `out_of_band`: a pegged stablecoin's feed strayed further from the peg than its band allows
 * - `unpriced`: the chain has no feed for that token or currency
 * - `invalid_amount`: the fiat amount is not a positive decimal with the currency's minor units
 * - `rpc`: the feed could not be read (retryable)
 */
export type QuoteRefusal = "stale" | "zero" | "negative" | "out_of_band" | "unpriced" | "invalid_amount" | "rpc";

export class QuoteError extends BaseError {
  override name = "QuoteError";
  constructor(
    readonly reason: QuoteRefusal,
    message: string,
    options: { cause?: unknown; details?: string } = {},
  ) {
    super(message, { ...options, retryable: reason === "rpc" || reason === "stale" });
  }
}
