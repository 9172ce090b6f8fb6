/**
 * Exact arithmetic of fiat quotes: prices are fractions of bigints, never floating point.
 *
 * The one rounding rule: the token amount of a quote is rounded UP to the next base unit (ceiling). The
 * merchant therefore never receives less than the quoted fiat value at the quoted rate, and the payer pays
 * less than one base unit more than the exact value. The displayed rate is rounded half up to
 * {RATE_DECIMALS} places; it is for reading only: amounts are computed from the feeds' answers, not from it.
 */

/** A price as an exact fraction: `num / den` units of the quote currency for one whole unit of the base. */
export type Price = { num: bigint; den: bigint };

export const RATE_DECIMALS = 18;
const BPS = 10_000n;

export const ONE: Price = { num: 1n, den: 1n };

/** A feed's answer as a price: `answer / 10^decimals`. */
export function feedPrice(answer: bigint, decimals: number): Price {
  return { num: answer, den: 10n ** BigInt(decimals) };
}

/** ⌈a / b⌉ for a ≥ 0, b > 0. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  return a === 0n ? 0n : (a - 1n) / b + 1n;
}

/**
 * Base units of a token worth `fiatAmount` (minor units of a currency with `fiatDecimals`), given the USD
 * price of one whole unit of the currency and of the token, rounded up (the module's rounding rule):
 *
 *   ⌈ fiatAmount / 10^fiatDecimals · fiatUsd / tokenUsd · 10^tokenDecimals ⌉
 */
export function tokenAmountFor(p: {
  fiatAmount: bigint;
  fiatDecimals: number;
  fiatUsd: Price;
  tokenUsd: Price;
  tokenDecimals: number;
}): bigint {
  const { num, den } = exactTokenAmount(p);
  return ceilDiv(num, den);
}

/** The unrounded token amount of {tokenAmountFor}, as a fraction (for the property tests and audits). */
export function exactTokenAmount(p: {
  fiatAmount: bigint;
  fiatDecimals: number;
  fiatUsd: Price;
  tokenUsd: Price;
  tokenDecimals: number;
}): Price {
  if (p.fiatAmount < 0n || p.fiatUsd.num <= 0n || p.fiatUsd.den <= 0n || p.tokenUsd.num <= 0n || p.tokenUsd.den <= 0n)
    throw new RangeError("quote math needs a non-negative amount and positive prices");
  return {
    num: p.fiatAmount * p.fiatUsd.num * p.tokenUsd.den * 10n ** BigInt(p.tokenDecimals),
    den: 10n ** BigInt(p.fiatDecimals) * p.fiatUsd.den * p.tokenUsd.num,
  };
}

/** Units of the currency one whole token is worth: tokenUsd / fiatUsd. */
export function rateOf(tokenUsd: Price, fiatUsd: Price): Price {
  return { num: tokenUsd.num * fiatUsd.den, den: tokenUsd.den * fiatUsd.num };
}

/** A positive fraction as a decimal string rounded half up to `decimals` places, trailing zeros trimmed. */
export function formatPrice(p: Price, decimals = RATE_DECIMALS): string {
  const scale = 10n ** BigInt(decimals);
  const scaled = (2n * p.num * scale + p.den) / (2n * p.den);
  if (decimals === 0) return scaled.toString();
  const s = scaled.toString().padStart(decimals + 1, "0");
  const frac = s.slice(-decimals).replace(/0+$/, "");
  return frac ? `${s.slice(0, -decimals)}.${frac}` : s.slice(0, -decimals);
}

/** Whether `price` lies within `bandBps` basis points of `peg` (inclusive), compared exactly. */
export function withinBand(price: Price, peg: Price, bandBps: number): boolean {
  // |price - peg| / peg <= band  <=>  |p.num·g.den - g.num·p.den| · BPS <= band · g.num · p.den
  const diff = price.num * peg.den - peg.num * price.den;
  const abs = diff < 0n ? -diff : diff;
  return abs * BPS <= BigInt(bandBps) * peg.num * price.den;
}
