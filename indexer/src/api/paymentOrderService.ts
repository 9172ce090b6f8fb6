import { createHash } from "node:crypto";
import type { TokenConfig } from "../config.js";
import { accessSign } from "../crypto/signing.js";
import { newId } from "../domain/ids.js";
import type { Quote } from "../pricing/quoter.js";
import { QuoteError } from "../pricing/errors.js";
import { createPaymentOrder, findRepeatedPaymentOrder, type PaymentOrderRecord } from "../store/paymentOrders.js";
import { canonicalDecimal, merchantAmount } from "../wire/amounts.js";
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
    if (!ctx.quoter) throw new ApiError(ErrorCode.FiatNotConfigured, `No chain of this gateway has price feeds configured: ${field} in ${fiat} cannot be priced`);
    // the same "plain decimal" rule as every amount ("12.50" and "12.5" alike), before any feed is read
    const amount = canonicalDecimal(b.amount, field);
    try {
      quote = await ctx.quoter.quote({ chainId: chain.chainId, token: token.address, currency: fiat, amount, lockedUntil: expiresAt });
    } catch (e) {
      // a retry of a create that succeeded answers its order at the locked amount, even while no quote can be made
      const repeated = e instanceof QuoteError ? await findRepeatedPaymentOrder(ctx.db, { merchantId, merchantOrderId: b.merchantOrderId, requestHash }) : null;
      if (repeated) return { order: repeated, created: false };
      throw e;
    }
  }
  return createPaymentOrder(ctx.db, {
    id,
    merchantId,
    merchantOrderId: b.merchantOrderId,
    requestHash,
    chainId: chain.chainId,
    vault: chain.vault,
    initCodeHash: chain.initCodeHash,
    tokenAddress: token.address,
    tokenSymbol: token.symbol,
    tokenDecimals: token.decimals,
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
