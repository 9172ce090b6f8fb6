import { createHash } from "node:crypto";
import { accessSign } from "../crypto/signing.js";
import { newId } from "../domain/ids.js";
import { parseAmount } from "../domain/money.js";
import type { RequestNonce } from "../store/nonces.js";
import { createPaymentOrder, type PaymentOrderRecord } from "../store/paymentOrders.js";
import type { GatewayContext } from "./context.js";
import { ApiError, ErrorCode } from "./errors.js";

/** What a merchant (the API) or the static merchant QR page (a payer typing an amount) asks for. */
export type PaymentOrderRequest = {
  merchantOrderId: string;
  chainId: number;
  /** symbol or token address */
  token: string;
  /** human amount, e.g. "12.50" */
  amount: string;
  notifyUrl: string;
  redirectionUrl?: string;
  expireSeconds?: number;
};

/**
 * Creates (or, for a repeated identical request, returns) a payment order for a merchant: resolves the
 * chain and token, parses the amount exactly, hashes the request for idempotency, signs the access sign
 * and leases a deposit address (store/paymentOrders.ts). One function so the API route and the hosted
 * merchant-QR page make orders the same way.
 */
export async function createPaymentOrderFor(
  ctx: GatewayContext,
  merchantId: bigint,
  b: PaymentOrderRequest,
  /** a signed API request's nonce, recorded in the same database call (see api/auth.ts `foldNonce`) */
  nonce?: RequestNonce,
): Promise<{ order: PaymentOrderRecord; created: boolean }> {
  const chain = ctx.chain(b.chainId);
  const token = ctx.token(chain, b.token);
  const amount = parseAmount(b.amount, token.decimals);
  if (amount === 0n) throw new ApiError(ErrorCode.InvalidAmount, "amount must be greater than zero");
  const requestHash = createHash("sha256")
    .update(JSON.stringify([b.chainId, token.address.toLowerCase(), amount.toString(), b.notifyUrl, b.redirectionUrl ?? null, b.expireSeconds ?? null]))
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
    nonce,
  });
}

/** seed 003's pay URL: `<payPageUrl>?accessSign=&merchantOrderId=&payOrderId=&chainCode=`. */
export function paymentUrlOf(ctx: GatewayContext, o: PaymentOrderRecord): string {
  const url = new URL(ctx.config.payPageUrl);
  url.searchParams.set("accessSign", o.accessSign);
  url.searchParams.set("merchantOrderId", o.merchantOrderId);
  url.searchParams.set("payOrderId", o.id);
  url.searchParams.set("chainCode", ctx.chain(o.chainId).code);
  return url.toString();
}
