import { createHash } from "node:crypto";
import type { TokenConfig } from "../config.js";
import { accessSign } from "../crypto/signing.js";
import { newId } from "../domain/ids.js";
import type { Quote } from "../pricing/quoter.js";
import { QuoteError } from "../pricing/errors.js";
import {
  createPaymentOrder,
  findRepeatedPaymentOrder,
  getPaymentOrder,
  movePaymentOrder,
  type PaymentOrderRecord,
  type PaymentOrderRef,
} from "../store/paymentOrders.js";
import { canonicalDecimal, merchantAmount, rescale } from "../wire/amounts.js";
import { ApiError, ErrorCode } from "../wire/errors.js";
import { payLinkOf } from "../wire/presenters.js";
import type { ChainRuntime, GatewayContext } from "./context.js";

/** What a merchant (the API) or the static merchant QR page (a payer typing an amount) asks for. */
export type PaymentOrderRequest = {
  /** outTradeNo */
  merchantOrderId: string;
  chainId: number;
  /** symbol or token address */
  token: string;
  /** decimal amount in the token's units, e.g. "12.50" (a crypto quote) */
  amount: string | number;
  notifyUrl: string;
  redirectionUrl?: string;
  expireSeconds?: number;
  description?: string;
  /** the quote as the merchant sent it (default: the token's symbol and `amount`) */
  quoteSymbol?: string;
  /** the name of the amount's field in the request, for error messages (default "amount") */
  amountField?: string;
  /**
   * A fiat quote (isLegalTender 1): `amount` is then in this ISO currency (e.g. "12.50" USD), priced in the
   * token by ctx.quoter at creation and locked until the order expires.
   */
  fiatCurrency?: string;
};

/**
 * Creates (or, for a repeated identical request, returns) a payment order for a merchant: resolves the
 * chain and token, converts the amount exactly, hashes the request for idempotency (equal decimals such as
 * "10" and "10.00" are the same request), signs the access sign and leases a deposit address
 * (store/paymentOrders.ts). One function so the API route and the hosted merchant-QR page make orders the
 * same way.
 */
export async function createPaymentOrderFor(
  ctx: GatewayContext,
  merchantId: bigint,
  b: PaymentOrderRequest,
): Promise<{ order: PaymentOrderRecord; created: boolean }> {
  const chain = ctx.chain(b.chainId);
  const token = ctx.token(chain, b.token);
  return createPaymentOrderIn(ctx, merchantId, chain, token, b);
}

/** {createPaymentOrderFor} with the chain and token already resolved (createPaymentOrder by currencyId). */
export async function createPaymentOrderIn(
  ctx: GatewayContext,
  merchantId: bigint,
  chain: ChainRuntime,
  token: TokenConfig,
  b: PaymentOrderRequest,
): Promise<{ order: PaymentOrderRecord; created: boolean }> {
  const field = b.amountField ?? "amount";
  const fiat = b.fiatCurrency?.toUpperCase();
  const quoteAmount = typeof b.amount === "number" ? canonicalDecimal(b.amount, field) : b.amount;
  // a fiat amount is checked (and converted) by the quoter, in the currency's minor units
  const tokenAmount = fiat === undefined ? merchantAmount(b.amount, { field, decimals: token.decimals, symbol: token.symbol }) : null;
  const quoteSymbol = (fiat ?? b.quoteSymbol ?? token.symbol).toUpperCase();
  const description = b.description ?? "";
  const requestHash = createHash("sha256")
    .update(
      JSON.stringify([
        chain.chainId,
        token.address.toLowerCase(),
        canonicalDecimal(b.amount, field),
        quoteSymbol,
        description,
        b.notifyUrl,
        b.redirectionUrl ?? null,
        b.expireSeconds ?? null,
        // a fiat request is the same request whatever the rate: a retry answers the order at its locked amount
        ...(fiat === undefined ? [] : ["fiat"]),
      ]),
    )
    .digest("hex");
  const id = newId();
  const expiresAt = new Date(Date.now() + (b.expireSeconds ?? ctx.config.orderTtlSeconds) * 1000);
  let quote: Quote | undefined;
  if (fiat !== undefined) {
    if (!ctx.quoter)
      throw new ApiError(
        ErrorCode.FiatNotConfigured,
        `No chain of this gateway has price feeds configured: ${field} in ${fiat} cannot be priced`,
      );
    // the same "plain decimal" rule as every amount ("12.50" and "12.5" alike), before any feed is read
    const amount = canonicalDecimal(b.amount, field);
    try {
      quote = await ctx.quoter.quote({ chainId: chain.chainId, token: token.address, currency: fiat, amount, lockedUntil: expiresAt });
    } catch (e) {
      // a retry of a create that succeeded answers its order at the locked amount, even while no quote can be made
      const repeated =
        e instanceof QuoteError
          ? await findRepeatedPaymentOrder(ctx.db, { merchantId, merchantOrderId: b.merchantOrderId, requestHash })
          : null;
      if (repeated) return { order: repeated, created: false };
      throw e;
    }
  }
  return createPaymentOrder(ctx.db, {
    id,
    merchantId,
    merchantOrderId: b.merchantOrderId,
    requestHash,
    ...placementOf(chain, token),
    amount: quote ? quote.amount : tokenAmount!,
    notifyUrl: b.notifyUrl,
    redirectionUrl: b.redirectionUrl ?? null,
    accessSign: accessSign(ctx.accessKey, id),
    expiresAt,
    description,
    quoteSymbol,
    quoteAmount,
    isLegalTender: quote ? 1 : 0,
    // recorded in the creating transaction: an order never exists priced without its quote
    ...(quote ? { quote } : {}),
  });
}

/** seed 003's pay URL, whole: `<payPageUrl>?accessSign=&merchantOrderId=&payOrderId=&chainCode=`. */
export function paymentUrlOf(ctx: GatewayContext, o: PaymentOrderRecord): string {
  return payLinkOf(ctx.wire, o).paymentLink;
}

/** Where an order is paid, as the store records it: the chain, its vault and deposit code, and the coin. */
function placementOf(chain: ChainRuntime, token: TokenConfig) {
  return {
    chainId: chain.chainId,
    vault: chain.vault,
    initCodeHash: chain.initCodeHash,
    tokenAddress: token.address,
    tokenSymbol: token.symbol,
    tokenDecimals: token.decimals,
  };
}

/** A chain and currency an order may be moved to (payment/payInfo/update, the payment page's choice). */
export type PaymentChoice = { chain: ChainRuntime; token: TokenConfig };

/**
 * Where an open order may be paid instead, the order's current currency first: for a crypto quote, every
 * accepted currency of the quote's symbol on any configured chain (USDT on another network, say); for a fiat
 * quote, every currency with a price feed on a chain with pricing (re-quoted when chosen).
 */
export function paymentChoicesOf(
  ctx: GatewayContext,
  o: Pick<PaymentOrderRecord, "chainId" | "tokenAddress" | "quoteSymbol" | "isLegalTender">,
): PaymentChoice[] {
  const symbol = o.quoteSymbol.toUpperCase();
  const choices: PaymentChoice[] = [];
  for (const c of ctx.config.chains) {
    const chain = ctx.chain(c.chainId);
    for (const token of chain.tokens) {
      const fits =
        o.isLegalTender === 1 ? Boolean(ctx.quoter && chain.pricing?.tokens[token.symbol]) : token.symbol.toUpperCase() === symbol;
      if (fits) choices.push({ chain, token });
    }
  }
  const isCurrent = (x: PaymentChoice) => x.chain.chainId === o.chainId && x.token.address.toLowerCase() === o.tokenAddress.toLowerCase();
  return [...choices.filter(isCurrent), ...choices.filter((x) => !isCurrent(x))];
}

/** A fiat order's quote in another coin at the current rate, with a fresh countdown as long as the first. */
async function requoteOf(ctx: GatewayContext, o: PaymentOrderRecord, chain: ChainRuntime, token: TokenConfig) {
  const q = o.quote;
  if (!q)
    throw new ApiError(ErrorCode.IllegalState, `The order is priced in ${o.quoteSymbol} but has no recorded quote: create a new order`);
  if (!ctx.quoter || !chain.pricing) {
    throw new ApiError(
      ErrorCode.FiatNotConfigured,
      `Chain ${chain.chainId} has no price feeds: the ${q.currency} order cannot be priced there; choose a chain with pricing`,
    );
  }
  if (!chain.pricing.tokens[token.symbol]) {
    throw new ApiError(
      ErrorCode.FiatUnpriced,
      `${token.symbol} has no price feed on chain ${chain.chainId}: the ${q.currency} order cannot be paid in it`,
    );
  }
  const expiresAt = new Date(Date.now() + Math.max(0, o.expiresAt.getTime() - o.createdAt.getTime()));
  const quote = await ctx.quoter.quote({
    chainId: chain.chainId,
    token: token.address,
    currency: q.currency,
    amount: canonicalDecimal(o.quoteAmount, "quoteAmount"),
    lockedUntil: expiresAt,
  });
  return { quote, expiresAt };
}

/**
 * Moves an open order to another chain or currency (store/paymentOrders.ts movePaymentOrder). A crypto quote
 * is worth its amount of any token of its symbol: the quote in the new decimals (rounded up: never less due),
 * what arrived in the old decimals (rounded down: never worth more). A fiat quote is priced again in the new
 * coin at the current rate with a fresh countdown, recorded in the move's transaction; what arrived is worth
 * the same share of the new amount as of the old one (at the rate it was paid at), rounded down.
 * One function for the merchant's payment/payInfo/update and the payer's choice on the payment page.
 * @throws ApiError 40004 (not a currency of the quote), 40012/40013 (no price for it), QuoteError (a refused feed)
 */
export async function movePaymentTo(
  ctx: GatewayContext,
  p: { merchantId: bigint; ref: PaymentOrderRef; chain: ChainRuntime; token: TokenConfig },
): Promise<{ order: PaymentOrderRecord; moved: boolean }> {
  const { chain, token } = p;
  const current = await getPaymentOrder(ctx.db, p.merchantId, p.ref);
  if (current.isLegalTender === 0 && token.symbol.toUpperCase() !== current.quoteSymbol.toUpperCase()) {
    throw new ApiError(
      ErrorCode.UnknownToken,
      `${token.symbol} on chain ${chain.chainId} is not ${current.quoteSymbol}, the order's quote: choose a currency of that symbol (conf/list/currency)`,
    );
  }
  // the same chain and coin again changes nothing (no feed read either)
  const same = current.chainId === chain.chainId && current.tokenAddress === token.address.toLowerCase();
  const requote = current.isLegalTender === 1 && !same ? await requoteOf(ctx, current, chain, token) : undefined;
  return movePaymentOrder(ctx.db, {
    merchantId: p.merchantId,
    ref: p.ref,
    to: placementOf(chain, token),
    quote: (o) => {
      if (requote) return { expectedAmount: requote.quote.amount, carriedAmount: (requote.quote.amount * o.paidAmount) / o.amount };
      const q = canonicalDecimal(o.quoteAmount, "quoteAmount");
      const scale = q.split(".")[1]?.length ?? 0;
      const quoteUnits = merchantAmount(q, { field: "quoteAmount", decimals: scale, symbol: o.quoteSymbol });
      return {
        expectedAmount: rescale(quoteUnits, scale, token.decimals, "up"),
        carriedAmount: rescale(o.paidAmount, o.tokenDecimals, token.decimals, "down"),
      };
    },
    ...(requote ? { requote } : {}),
    poolCooldownSeconds: ctx.config.poolCooldownSeconds,
  });
}
