/**
 * The merchant's underpayment tolerance: an order of `amount` counts as paid once `minimumAccepted` arrived.
 * The tolerance is in basis points of the amount, at most {MAX_TOLERANCE_BPS} (10%), and the allowance is
 * rounded down (in the merchant's favour): 0 bps demands the whole amount, and at least 90% is always due.
 */
export const MAX_TOLERANCE_BPS = 1_000;

export function minimumAccepted(amount: bigint, toleranceBps: number): bigint {
  if (!Number.isInteger(toleranceBps) || toleranceBps < 0 || toleranceBps > MAX_TOLERANCE_BPS)
    throw new RangeError(`underpayment tolerance must be 0..${MAX_TOLERANCE_BPS} basis points, got ${toleranceBps}`);
  return amount - (amount * BigInt(toleranceBps)) / 10_000n;
}

/** Whether `received` settles an order of `amount` under the tolerance. */
export function paidWithinTolerance(amount: bigint, received: bigint, toleranceBps: number): boolean {
  return received >= minimumAccepted(amount, toleranceBps);
}
