import { createHash } from "node:crypto";
import type { TokenConfig } from "../config.js";
import { accessSign } from "../crypto/signing.js";
import { newId } from "../domain/ids.js";
import { createPaymentOrder, getPaymentOrder, movePaymentOrder, type PaymentOrderRecord, type PaymentOrderRef } from "../store/paymentOrders.js";
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
  const amount = merchantAmount(b.amount, { field, decimals: token.decimals, symbol: token.symbol });
  const quoteAmount = typeof b.amount === "number" ? canonicalDecimal(b.amount, field) : b.amount;
  const quoteSymbol = (b.quoteSymbol ?? token.symbol).toUpperCase();
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
      ]),
    )
    .digest("hex");
  const id = newId();
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
    amount,
    notifyUrl: b.notifyUrl,
    redirectionUrl: b.redirectionUrl ?? null,
    accessSign: accessSign(ctx.accessKey, id),
    expiresAt: new Date(Date.now() + (b.expireSeconds ?? ctx.config.orderTtlSeconds) * 1000),
    description,
    quoteSymbol,
    quoteAmount,
    isLegalTender: 0,
  });
}

/** seed 003's pay URL, whole: `<payPageUrl>?accessSign=&merchantOrderId=&payOrderId=&chainCode=`. */
export function paymentUrlOf(ctx: GatewayContext, o: PaymentOrderRecord): string {
  return payLinkOf(ctx.wire, o).paymentLink;
}

/** A chain and currency an order may be moved to (payment/payInfo/update, the payment page's choice). */
export type PaymentChoice = { chain: ChainRuntime; token: TokenConfig };

/**
 * Where an open order may be paid instead: for a crypto quote, every accepted currency of the quote's symbol
 * on any configured chain (USDT on another network, say), the order's current one first.
 */
export function paymentChoicesOf(ctx: GatewayContext, o: Pick<PaymentOrderRecord, "chainId" | "tokenAddress" | "quoteSymbol">): PaymentChoice[] {
  const symbol = o.quoteSymbol.toUpperCase();
  const choices: PaymentChoice[] = [];
  for (const c of ctx.config.chains) {
    const chain = ctx.chain(c.chainId);
    for (const token of chain.tokens) if (token.symbol.toUpperCase() === symbol) choices.push({ chain, token });
  }
  const isCurrent = (x: PaymentChoice) => x.chain.chainId === o.chainId && x.token.address.toLowerCase() === o.tokenAddress.toLowerCase();
  return [...choices.filter(isCurrent), ...choices.filter((x) => !isCurrent(x))];
}

/**
 * Moves an open order to another chain or currency of its quote (store/paymentOrders.ts movePaymentOrder):
 * a crypto quote is worth its amount of any token of its symbol, so the quote is rescaled to the new
 * decimals (rounded up: never less due) and what already arrived to them (rounded down: never worth more).
 * One function for the merchant's payment/payInfo/update and the payer's choice on the payment page.
 * @throws ApiError 40004 when the currency is not one of the order's choices
 */
export async function movePaymentTo(
  ctx: GatewayContext,
  p: { merchantId: bigint; ref: PaymentOrderRef; chain: ChainRuntime; token: TokenConfig },
): Promise<{ order: PaymentOrderRecord; moved: boolean }> {
  const current = await getPaymentOrder(ctx.db, p.merchantId, p.ref);
  if (current.isLegalTender === 0 && p.token.symbol.toUpperCase() !== current.quoteSymbol.toUpperCase()) {
    throw new ApiError(
      ErrorCode.UnknownToken,
      `${p.token.symbol} on chain ${p.chain.chainId} is not ${current.quoteSymbol}, the order's quote: choose a currency of that symbol (conf/list/currency)`,
    );
  }
  const token = p.token;
  return movePaymentOrder(ctx.db, {
    merchantId: p.merchantId,
    ref: p.ref,
    to: {
      chainId: p.chain.chainId,
      vault: p.chain.vault,
      initCodeHash: p.chain.initCodeHash,
      tokenAddress: token.address,
      tokenSymbol: token.symbol,
      tokenDecimals: token.decimals,
    },
    quote: (o) => {
      const q = canonicalDecimal(o.quoteAmount, "quoteAmount");
      const scale = q.split(".")[1]?.length ?? 0;
      const quoteUnits = merchantAmount(q, { field: "quoteAmount", decimals: scale, symbol: o.quoteSymbol });
      return {
        expectedAmount: rescale(quoteUnits, scale, token.decimals, "up"),
        carriedAmount: rescale(o.paidAmount, o.tokenDecimals, token.decimals, "down"),
      };
    },
    poolCooldownSeconds: ctx.config.poolCooldownSeconds,
  });
}
