/**
 * The merchant API calls that tools make against a local stack (`npm run local`'s JSON), in one place: when
 * the merchant API's field names change, only this file changes. Uses the merchant SDK.
 */
import { createPayClient } from "../../sdk/src/index.js";

export type StackFile = { gatewayUrl: string; chainId: number; merchant: { apiKey: string; apiSecret: string } };

const client = (stack: StackFile) =>
  createPayClient({ baseUrl: stack.gatewayUrl, apiKey: stack.merchant.apiKey, apiSecret: stack.merchant.apiSecret });

/** Creates a payment order; returns its id, the deposit address to pay and the hosted page. */
export async function createOrder(stack: StackFile, p: { reference: string; token: string; amount: string; notifyUrl: string }) {
  const o = await client(stack).payment.create({
    outTradeNo: p.reference,
    chainId: stack.chainId,
    quoteCurrencySymbol: p.token,
    quoteAmount: p.amount,
    notifyUrl: p.notifyUrl,
  });
  return { id: o.outPaymentNo, depositAddress: o.userWalletAddress, paymentUrl: o.paymentLink, amountBaseUnits: BigInt(o.expectedAmount) };
}

/** Creates a fiat-priced payment order (isLegalTender 1): `amount` of `currency` (USD, CNY), paid in `currencyId` or the default stablecoin. */
export async function createFiatOrder(
  stack: StackFile,
  p: { reference: string; currency: string; amount: string; notifyUrl: string; currencyId?: number },
) {
  const o = await client(stack).payment.create({
    outTradeNo: p.reference,
    chainId: stack.chainId,
    isLegalTender: 1,
    quoteCurrencySymbol: p.currency,
    quoteAmount: p.amount,
    notifyUrl: p.notifyUrl,
    ...(p.currencyId === undefined ? {} : { currencyId: p.currencyId }),
  });
  return {
    id: o.outPaymentNo,
    depositAddress: o.userWalletAddress,
    symbol: o.symbol,
    amountBaseUnits: BigInt(o.expectedAmount),
    exchangeRate: o.exchangeRate ?? null,
    rateLockedUntil: o.rateLockedUntil ?? null,
  };
}

/** An order's state code (seed 003: 4 = success) and what was paid. */
export async function orderState(stack: StackFile, id: string) {
  const d = await client(stack).payment.detail({ outPaymentNo: id });
  return { state: d.state, paid: d.paidAmount };
}
