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

/** The tolerance as a percentage of the amount, as a person writes it: 50 bps → "0.5", 1000 → "10", 5 → "0.05". */
export function formatTolerancePercent(bps: number): string {
  const frac = String(bps % 100)
    .padStart(2, "0")
    .replace(/0+$/, "");
  return `${Math.floor(bps / 100)}${frac ? `.${frac}` : ""}`;
}

/**
 * A percentage as a person writes it ("0.5", "2", "1.25 %") to basis points, or null when it is not a number
 * of at most two decimals within 0..{MAX_TOLERANCE_BPS} bps (0..10%): the same bounds as the API's.
 */
export function parseTolerancePercent(text: string): number | null {
  const m = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(text.trim().replace(/\s*%$/, ""));
  if (!m) return null;
  const bps = Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
  return bps <= MAX_TOLERANCE_BPS ? bps : null;
}
