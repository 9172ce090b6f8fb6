/**
 * The pricing part of a chain's config, as a zod schema fragment: which on-chain feeds price which token and
 * which fiat currency. Every price is taken in USD, because that is what Chainlink-style feeds answer:
 * - `tokens.<SYMBOL>`: either `{ feed }` (the token's `<SYMBOL>/USD` feed), or `{ peg, feed?, bandBps? }`: a
 *   stablecoin valued at exactly one unit of `peg`, whose feed (when given) must stay within `bandBps` (default
 *   1%) of the peg, else no quote is made in it (a de-pegged coin is never accepted at face value).
 * - `fiat.<ISO>`: the `<ISO>/USD` feed of each currency other than USD that orders may be priced in.
 * A feed is `{ address, heartbeatSeconds }`: an answer older than its heartbeat is stale and refused.
 *
 * Example (Ethereum mainnet's Chainlink proxies):
 * `{ "tokens": { "ETH": { "feed": { "address": "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419", "heartbeatSeconds": 3600 } },
 *                "USDT": { "peg": "USD", "bandBps": 200, "feed": { "address": "0x3E7d1eAB13ad0104d2750B8863b489D65364e32D", "heartbeatSeconds": 86400 } } },
 *    "fiat": { "CNY": { "feed": { "address": "0xeF8A4aF35cd47424672E3C590aBD37FBB7A7759a", "heartbeatSeconds": 86400 } } } }`
 */
import { getAddress, type Address } from "viem";
import { z } from "zod";

/** ISO 4217 minor units of the currencies most shops price in; a `fiat` entry may name others with `decimals`. */
export const CURRENCY_DECIMALS: Record<string, number> = {
  USD: 2,
  EUR: 2,
  GBP: 2,
  CNY: 2,
  HKD: 2,
  TWD: 2,
  SGD: 2,
  AUD: 2,
  CAD: 2,
  CHF: 2,
  INR: 2,
  BRL: 2,
  MXN: 2,
  RUB: 2,
  TRY: 2,
  PHP: 2,
  THB: 2,
  MYR: 2,
  IDR: 2,
  ZAR: 2,
  NGN: 2,
  AED: 2,
  JPY: 0,
  KRW: 0,
  VND: 0,
  KWD: 3,
  BHD: 3,
};

const currencyCode = z.string().regex(/^[A-Z]{3}$/, "an ISO 4217 code in capitals, such as USD or CNY");

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "a 0x address of 40 hex digits")
  .transform((a) => getAddress(a.toLowerCase()) as Address);

export const feedSchema = z
  .object({
    /** the AggregatorV3Interface contract (usually the feed's proxy) */
    address,
    /** the longest time the feed goes without an update: an older answer is stale */
    heartbeatSeconds: z.number().int().positive(),
  })
  .strict();

/** How far a pegged stablecoin's feed may stray from the peg when the config names no `bandBps`: 1%. */
export const DEFAULT_BAND_BPS = 100;

const tokenPricingSchema = z
  .object({
    /** the token's `<SYMBOL>/USD` feed: its price, or for a pegged stablecoin the check of its peg */
    feed: feedSchema.optional(),
    /** a stablecoin: the currency it is worth one unit of (without `feed` the peg is taken on trust) */
    peg: currencyCode.optional(),
    /** how far the feed may stray from the peg, in basis points (default {DEFAULT_BAND_BPS}) */
    bandBps: z.number().int().min(1).max(2000).optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (!t.feed && !t.peg)
      ctx.addIssue({ code: "custom", message: 'give "feed" (the token\'s <SYMBOL>/USD feed) or "peg" (a stablecoin\'s currency)' });
    if (t.bandBps !== undefined && !t.peg) ctx.addIssue({ code: "custom", path: ["bandBps"], message: 'a band only applies to a "peg"' });
  });

export const chainPricingSchema = z
  .object({
    /** by token symbol, as in the chain's `tokens` */
    tokens: z.record(z.string().min(1), tokenPricingSchema),
    /** by ISO code; USD needs no entry */
    fiat: z.record(currencyCode, z.object({ feed: feedSchema, decimals: z.number().int().min(0).max(6).optional() }).strict()).default({}),
  })
  .strict();

export type FeedConfig = z.output<typeof feedSchema>;
export type TokenPricing = z.output<typeof tokenPricingSchema>;
export type ChainPricingConfig = z.output<typeof chainPricingSchema>;
/** What an operator writes (before defaults and address checksums). */
export type ChainPricingInput = z.input<typeof chainPricingSchema>;

/**
 * Parses one chain's `pricing` and checks it against the chain's tokens: every priced symbol must be a
 * configured token and every peg a currency the chain can price (USD or one with a `fiat` feed).
 * @throws Error naming each field to fix
 */
export function parseChainPricing(raw: unknown, chain: { chainId: number; tokens: { symbol: string }[] }): ChainPricingConfig {
  const where = `chains[${chain.chainId}].pricing`;
  const parsed = chainPricingSchema.safeParse(raw);
  if (!parsed.success) {
    // a bad record key (fiat.cny) says why through its inner issue; zod's own message is only "Invalid key in record"
    const messageOf = (i: z.core.$ZodIssue) => (i.code === "invalid_key" && i.issues[0] ? i.issues[0].message : i.message);
    const issues = parsed.error.issues.map((i) => `${[where, ...i.path].join(".")}: ${messageOf(i)}`);
    throw new Error(`Invalid pricing config:\n  ${issues.join("\n  ")}`);
  }
  const p = parsed.data;
  const problems: string[] = [];
  const symbols = new Set(chain.tokens.map((t) => t.symbol));
  for (const [symbol, t] of Object.entries(p.tokens)) {
    if (!symbols.has(symbol))
      problems.push(`${where}.tokens.${symbol}: no token "${symbol}" on this chain (tokens: ${[...symbols].join(", ")})`);
    if (t.peg && t.peg !== "USD" && !p.fiat[t.peg])
      problems.push(`${where}.tokens.${symbol}.peg: ${t.peg} needs a fiat.${t.peg} feed (or peg to USD)`);
  }
  for (const [code, f] of Object.entries(p.fiat)) {
    if (code === "USD") problems.push(`${where}.fiat.USD: USD is the feeds' own unit and needs no feed`);
    if (f.decimals === undefined && CURRENCY_DECIMALS[code] === undefined)
      problems.push(`${where}.fiat.${code}: unknown currency: give its minor-unit "decimals"`);
  }
  if (problems.length) throw new Error(`Invalid pricing config:\n  ${problems.join("\n  ")}`);
  return p;
}

/** The minor-unit decimals of a currency the chain prices, or undefined when it cannot price it. */
export function currencyDecimals(p: ChainPricingConfig, currency: string): number | undefined {
  if (currency === "USD") return CURRENCY_DECIMALS.USD;
  const f = p.fiat[currency];
  return f ? (f.decimals ?? CURRENCY_DECIMALS[currency]) : undefined;
}
