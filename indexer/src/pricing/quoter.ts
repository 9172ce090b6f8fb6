import { createPublicClient, http, type Address, type PublicClient } from "viem";
import { InvalidAmountError } from "../domain/errors.js";
import { parseAmount } from "../domain/money.js";
import { currencyDecimals, DEFAULT_BAND_BPS, type ChainPricingConfig, type FeedConfig } from "./config.js";
import { QuoteError } from "./errors.js";
import { createFeedReader, type FeedReader, type FeedRound } from "./feeds.js";
import { feedPrice, formatPrice, ONE, rateOf, tokenAmountFor, withinBand, type Price } from "./quoteMath.js";

/** A feed a quote was computed from: enough to recompute the amount and to find the round on chain. */
export type QuoteSource = {
  /** `ETH/USD`, `CNY/USD`, … */
  pair: string;
  feed: Address;
  roundId: string;
  answer: string;
  decimals: number;
  /** unix seconds */
  updatedAt: number;
  blockNumber: string;
};

/** What one unit of a token is worth in a currency, now. */
export type Rate = {
  chainId: number;
  token: { symbol: string; address: Address; decimals: number };
  currency: string;
  /** units of `currency` for one whole token, rounded half up to 18 places (display; amounts use the answers) */
  rate: string;
  /** the currency a pegged stablecoin was valued at (its feed checked within the band), else null */
  pegged: string | null;
  sources: QuoteSource[];
  quotedAt: Date;
};

/** A fiat amount turned into the token amount to pay, with the rate and sources it was computed from. */
export type Quote = Rate & {
  /** the fiat amount in minor units (`fiatDecimals`, ISO 4217: 2 for USD and CNY, 0 for JPY) */
  fiatAmount: bigint;
  fiatDecimals: number;
  /** token base units to pay: ⌈exact value⌉ (never less than the fiat amount is worth) */
  amount: bigint;
  /** the quote holds until then (the order's countdown) */
  lockedUntil: Date;
};

export type QuoteParameters = {
  chainId: number;
  /** symbol or address of one of the chain's tokens */
  token: string;
  /** ISO 4217 code */
  currency: string;
  /** human amount in the currency, e.g. "10.50" */
  amount: string;
  lockedUntil: Date;
};

export type Quoter = {
  /** Prices `amount` of `currency` in `token`. @throws QuoteError (never returns a quote from a refused feed) */
  quote(p: QuoteParameters): Promise<Quote>;
  /** The current rate of `token` in `currency` (for currency lists). @throws QuoteError */
  rate(p: Omit<QuoteParameters, "amount" | "lockedUntil">): Promise<Rate>;
  /** Currencies orders on the chain may be priced in (USD first), empty when the chain has no pricing. */
  currencies(chainId: number): string[];
};

export type PricedChain = {
  chainId: number;
  rpcUrl?: string;
  tokens: { symbol: string; address: Address; decimals: number }[];
  pricing?: ChainPricingConfig;
};

export type CreateQuoterParameters = {
  chains: PricedChain[];
  /** the feed reader of a chain (default: one per chain over its `rpcUrl`, see {createFeedReader}) */
  readerFor?: (chain: PricedChain) => FeedReader;
  /** clock for the staleness check, unix ms (default Date.now) */
  now?: () => number;
};

/**
 * Fiat quotes from Chainlink-style feeds read over each chain's RPC (no price API, no key). Every answer is
 * checked before it prices anything: a zero or negative answer, a round older than the feed's heartbeat or
 * a pegged stablecoin outside its band refuses the quote with a {QuoteError} that says which feed and why.
 */
export function createQuoter({ chains, readerFor = defaultReader, now = Date.now }: CreateQuoterParameters): Quoter {
  const byId = new Map(chains.map((c) => [c.chainId, c]));
  const readers = new Map<number, FeedReader>();

  function chainOf(chainId: number) {
    const chain = byId.get(chainId);
    if (!chain?.pricing)
      throw new QuoteError("unpriced", `Chain ${chainId} has no price feeds configured: orders on it cannot be priced in fiat`);
    return { chain, pricing: chain.pricing };
  }

  async function checkedPrice(chain: PricedChain, pair: string, feed: FeedConfig, sources: QuoteSource[]): Promise<Price> {
    let reader = readers.get(chain.chainId);
    if (!reader) readers.set(chain.chainId, (reader = readerFor(chain)));
    const round = await reader.latest(feed.address);
    checkRound(round, pair, feed.heartbeatSeconds, now());
    sources.push({
      pair,
      feed: feed.address,
      roundId: round.roundId.toString(),
      answer: round.answer.toString(),
      decimals: round.decimals,
      updatedAt: Number(round.updatedAt),
      blockNumber: round.blockNumber.toString(),
    });
    return feedPrice(round.answer, round.decimals);
  }

  async function rate({ chainId, token, currency }: Omit<QuoteParameters, "amount" | "lockedUntil">) {
    const quotedAt = new Date(now());
    const { chain, pricing } = chainOf(chainId);
    const t = findToken(chain, token);
    const tokenPricing = pricing.tokens[t.symbol];
    if (!tokenPricing) throw new QuoteError("unpriced", `${t.symbol} on chain ${chainId} has no price feed: it cannot be priced in fiat`);
    if (currencyDecimals(pricing, currency) === undefined)
      throw new QuoteError("unpriced", `Chain ${chainId} cannot price in "${currency}"; use one of: ${currencies(chainId).join(", ")}`);
    const sources: QuoteSource[] = [];
    const usdOf = (code: string) =>
      code === "USD" ? Promise.resolve(ONE) : checkedPrice(chain, `${code}/USD`, pricing.fiat[code]!.feed, sources);
    const fiatUsd = await usdOf(currency);
    const { peg, feed } = tokenPricing;
    let tokenUsd: Price;
    if (peg) {
      tokenUsd = peg === currency ? fiatUsd : await usdOf(peg);
      const band = tokenPricing.bandBps ?? DEFAULT_BAND_BPS;
      if (feed) {
        const pair = `${t.symbol}/USD`;
        const own = await checkedPrice(chain, pair, feed, sources);
        if (!withinBand(own, tokenUsd, band))
          throw new QuoteError(
            "out_of_band",
            `${t.symbol} is off its ${peg} peg: feed ${pair} (${feed.address}) answers ${formatPrice(own, 8)} USD, ` +
              `more than ${band / 100}% from ${formatPrice(tokenUsd, 8)}; no quote in ${t.symbol} until it is back`,
          );
      }
    } else {
      tokenUsd = await checkedPrice(chain, `${t.symbol}/USD`, feed!, sources);
    }
    const result: Rate = {
      chainId,
      token: { symbol: t.symbol, address: t.address, decimals: t.decimals },
      currency,
      rate: formatPrice(rateOf(tokenUsd, fiatUsd)),
      pegged: peg ?? null,
      sources,
      quotedAt,
    };
    return { result, tokenUsd, fiatUsd };
  }

  function currencies(chainId: number): string[] {
    const pricing = byId.get(chainId)?.pricing;
    return pricing ? ["USD", ...Object.keys(pricing.fiat).sort()] : [];
  }

  return {
    currencies,
    rate: async (p) => (await rate(p)).result,
    async quote(p) {
      const { pricing } = chainOf(p.chainId);
      const fiatDecimals = currencyDecimals(pricing, p.currency);
      if (fiatDecimals === undefined)
        throw new QuoteError(
          "unpriced",
          `Chain ${p.chainId} cannot price in "${p.currency}"; use one of: ${currencies(p.chainId).join(", ")}`,
        );
      let fiatAmount: bigint;
      try {
        fiatAmount = parseAmount(p.amount, fiatDecimals);
      } catch (e) {
        throw new QuoteError("invalid_amount", e instanceof InvalidAmountError ? `${p.currency}: ${e.shortMessage}` : String(e));
      }
      if (fiatAmount === 0n) throw new QuoteError("invalid_amount", `The ${p.currency} amount must be greater than zero`);
      const { result, tokenUsd, fiatUsd } = await rate(p);
      const amount = tokenAmountFor({ fiatAmount, fiatDecimals, fiatUsd, tokenUsd, tokenDecimals: result.token.decimals });
      return { ...result, fiatAmount, fiatDecimals, amount, lockedUntil: p.lockedUntil };
    },
  };
}

/**
 * Refuses a round that must not price anything: a zero or negative answer, an incomplete round
 * (`updatedAt` 0) or one older than the feed's heartbeat at `nowMs`.
 * @throws QuoteError
 */
export function checkRound(round: FeedRound, pair: string, heartbeatSeconds: number, nowMs: number): void {
  const which = `Price feed ${pair} (${round.feed}, round ${round.roundId})`;
  if (round.answer === 0n) throw new QuoteError("zero", `${which} answers 0: no quote can be made from it`);
  if (round.answer < 0n)
    throw new QuoteError("negative", `${which} answers a negative price (${round.answer}): no quote can be made from it`);
  const age = BigInt(Math.floor(nowMs / 1000)) - round.updatedAt;
  if (round.updatedAt === 0n || age > BigInt(heartbeatSeconds))
    throw new QuoteError(
      "stale",
      `${which} is stale: last updated ${round.updatedAt === 0n ? "never" : `${age} s ago`}, its heartbeat is ${heartbeatSeconds} s; ` +
        "no quote until the feed updates",
    );
}

function findToken(chain: PricedChain, token: string) {
  const t = token.startsWith("0x")
    ? chain.tokens.find((x) => x.address.toLowerCase() === token.toLowerCase())
    : chain.tokens.find((x) => x.symbol.toUpperCase() === token.toUpperCase());
  if (!t) throw new QuoteError("unpriced", `Token "${token}" is not configured on chain ${chain.chainId}`);
  return t;
}

function defaultReader(chain: PricedChain): FeedReader {
  if (!chain.rpcUrl) throw new QuoteError("unpriced", `Chain ${chain.chainId} has price feeds but no rpcUrl to read them`);
  // one HTTP request carries both calls of a feed read (JSON-RPC batch)
  const client = createPublicClient({ transport: http(chain.rpcUrl, { batch: true, retryCount: 1, timeout: 5_000 }) }) as PublicClient;
  return createFeedReader({ client });
}
