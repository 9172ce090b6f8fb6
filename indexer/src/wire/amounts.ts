import { MAX_UINT256 } from "../domain/money.js";
import { ApiError, ErrorCode } from "./errors.js";

/**
 * Amounts on the wire, one way everywhere (issue 10 item 4): what the merchant sends (quoteAmount,
 * withdrawAmount, refundAmount) is a decimal in the token's units, as a string ("10.00") or, tolerated, a JSON
 * number (10.5); what the gateway reports (expectedAmount, refundAmount, rechargeAmount, withdrawAmount, …)
 * is an integer string in the token's smallest unit, next to `symbol` and `decimals`. Errors name the field
 * and speak in the units the request used.
 */

const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/** A merchant's decimal as its canonical text ("10.00" -> "10", "0.50" -> "0.5"); refuses signs, exponents, spaces. */
export function canonicalDecimal(value: unknown, field: string): string {
  const text = decimalText(value, field);
  const m = DECIMAL.exec(text)!;
  const frac = (m[2] ?? "").replace(/0+$/, "");
  return frac ? `${m[1]}.${frac}` : m[1]!;
}

/** The text of a decimal sent as a string or a JSON number; throws 40002 naming the field. */
export function decimalText(value: unknown, field: string): string {
  let text: string;
  if (typeof value === "number") {
    // a JSON number is taken as written when that is a plain decimal (1e-7 or 1e21 are not)
    text = Number.isFinite(value) ? String(value) : "";
  } else if (typeof value === "string") {
    text = value;
  } else {
    throw new ApiError(ErrorCode.InvalidRequest, `Invalid request: ${field} must be a decimal string such as "10.00"`);
  }
  if (!DECIMAL.test(text)) {
    throw new ApiError(
      ErrorCode.InvalidAmount,
      `${field} ${JSON.stringify(value)} is not a plain positive decimal: send digits with at most one dot, such as "10.00" (no sign, exponent or spaces)`,
    );
  }
  return text;
}

/**
 * A merchant's decimal in base units of a token with `decimals`, exactly; must be above zero. `symbol` is only
 * for the message ("withdrawAmount "1.0000001" has 7 decimals; USDT has 6").
 */
export function merchantAmount(value: unknown, p: { field: string; decimals: number; symbol: string; allowZero?: boolean }): bigint {
  const text = decimalText(value, p.field);
  const m = DECIMAL.exec(text)!;
  let frac = m[2] ?? "";
  if (frac.length > p.decimals && /[^0]/.test(frac.slice(p.decimals))) {
    throw new ApiError(
      ErrorCode.InvalidAmount,
      `${p.field} "${text}" has ${frac.replace(/0+$/, "").length} decimals; ${p.symbol} has ${p.decimals}: round it to at most ${p.decimals} digits after the dot`,
    );
  }
  frac = frac.slice(0, p.decimals).padEnd(p.decimals, "0");
  const units = BigInt(m[1]! + frac);
  if (units > MAX_UINT256) throw new ApiError(ErrorCode.InvalidAmount, `${p.field} "${text}" is larger than any token amount (uint256)`);
  if (units === 0n && !p.allowZero) throw new ApiError(ErrorCode.InvalidAmount, `${p.field} must be greater than zero (got "${text}")`);
  return units;
}

/**
 * Base units of a token with `from` decimals as base units of one with `to` decimals: exact when `to >= from`,
 * else rounded `down` (what arrived counts for no more than it is) or `up` (what is due is never less).
 */
export function rescale(units: bigint, from: number, to: number, round: "down" | "up"): bigint {
  if (to >= from) return units * 10n ** BigInt(to - from);
  const div = 10n ** BigInt(from - to);
  const q = units / div;
  return round === "up" && q * div !== units ? q + 1n : q;
}

/** Base units as the wire's integer string. */
export const units = (v: bigint): string => v.toString();
