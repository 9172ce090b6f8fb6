import { createHash } from "node:crypto";
import type { TokenConfig } from "../config.js";
import { accessSign } from "../crypto/signing.js";
import { newId } from "../domain/ids.js";
import { createPaymentOrder, type PaymentOrderRecord } from "../store/paymentOrders.js";
import { canonicalDecimal, merchantAmount } from "../wire/amounts.js";
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
