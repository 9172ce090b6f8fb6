import { InvalidAmountError } from "./errors.js";

/** Largest value a `uint256` (and a `NUMERIC(78,0)` column) holds. */
export const MAX_UINT256 = (1n << 256n) - 1n;

const HUMAN = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;
const BASE = /^(0|[1-9][0-9]*)$/;

/**
 * Parses a human amount such as `"12.50"` into token base units, exactly.
 * Refuses signs, exponents, spaces, more fractional digits than `decimals` (unless they are zeros), and
 * values above uint256.
 */
export function parseAmount(value: string, decimals: number): bigint {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 77) {
    throw new InvalidAmountError(value, `token decimals ${decimals} out of range`);
  }
  const m = HUMAN.exec(value);
  if (!m) {
    throw new InvalidAmountError(value, 'expected a non-negative decimal such as "12.50" (digits, at most one dot, no sign or exponent)');
  }
  const whole = m[1]!;
  let frac = m[2] ?? "";
  if (frac.length > decimals) {
    const extra = frac.slice(decimals);
    if (/[^0]/.test(extra)) {
      throw new InvalidAmountError(value, `the token has ${decimals} decimals; use at most ${decimals} digits after the dot`);
    }
    frac = frac.slice(0, decimals);
  }
  const result = BigInt(whole + frac.padEnd(decimals, "0"));
  if (result > MAX_UINT256) throw new InvalidAmountError(value, "above the uint256 maximum");
  return result;
}

/** Parses a base-unit integer string such as `"12500000"`; refuses anything but digits. */
export function parseBaseUnits(value: string): bigint {
  if (!BASE.test(value)) throw new InvalidAmountError(value, "expected base units as a string of digits");
  const result = BigInt(value);
  if (result > MAX_UINT256) throw new InvalidAmountError(value, "above the uint256 maximum");
  return result;
}

/** Formats base units as a human amount, trimming trailing zeros: `12500000n, 6` -> `"12.5"`. */
export function formatAmount(value: bigint, decimals: number): string {
  if (value < 0n) throw new InvalidAmountError(value.toString(), "negative amounts do not exist");
  if (decimals === 0) return value.toString();
  const s = value.toString().padStart(decimals + 1, "0");
  const whole = s.slice(0, -decimals);
  const frac = s.slice(-decimals).replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole;
}
