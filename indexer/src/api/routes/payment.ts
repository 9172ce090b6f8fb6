import type { FastifyInstance } from "fastify";
import { getMerchantName } from "../../store/merchants.js";
import {
  applyPaymentEvent,
  getPaymentOrder,
  getPaymentView,
  listPaymentViews,
  requeuePaymentNotification,
  type PaymentOrderRef,
} from "../../store/paymentOrders.js";
import { ApiError, ErrorCode } from "../../wire/errors.js";
import { presentCreatedPayment, presentPage, presentPayInfo, presentPayInfoUpdate, presentPayment } from "../../wire/presenters.js";
import {
  chainIdField,
  decimalField,
  envelope,
  errorResponses,
  httpUrl,
  intField,
  keyField,
  listQuery,
  pageOf as pageSchema,
  qKey,
  ref,
} from "../../wire/schemas.js";
import { PayPaymentStatus, paymentListFilter } from "../../wire/status.js";
import type { TokenConfig } from "../../config.js";
import type { ChainRuntime, GatewayContext } from "../context.js";
import { createPaymentOrderIn, movePaymentTo } from "../paymentOrderService.js";
import { chainOf, intOf, notifyRoute, ok, pageOf, statusCodeOf, timeRangeOf, txHashOf } from "./common.js";

type CreateBody = {
  chainId: number | string;
  description?: string;
  outTradeNo: string;
  isLegalTender?: number | string;
  quoteCurrencySymbol: string;
  quoteAmount: string | number;
  notifyUrl: string;
  redirectionUrl?: string;
  currencyId?: number | string;
  expireSeconds?: number;
};
type Ref = { outTradeNo?: string; outPaymentNo?: string };

const refProps = {
  outTradeNo: qKey("the merchant's order number"),
  outPaymentNo: qKey("the gateway's payment order number (optional with outTradeNo; both must match)"),
};
const PAYMENT_CODES = Object.values(PayPaymentStatus);
const PAYMENT_CODES_TEXT = "0 paid, 1 pending payment, 2 block confirmation, 3 partially paid, 4 payment failed, 5 refunded";

/** outTradeNo and/or outPaymentNo (Pay Protocol's plugin sends both; the reference requires outTradeNo). */
export function paymentRefOf(r: Ref): PaymentOrderRef {
  if (r.outTradeNo === undefined && r.outPaymentNo === undefined) {
    throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: give outTradeNo (and, optionally, outPaymentNo)");
  }
  return { merchantOrderId: r.outTradeNo, payOrderId: r.outPaymentNo };
}

/**
 * isLegalTender 1: quoteAmount of the ISO currency quoteCurrencySymbol, priced in the coin to pay by the
 * chain's price feeds and locked until the order expires. The coin: currencyId when given, else the chain's
 * first priced stablecoin (a `pricing.tokens` entry with a `peg`, in the chain's token order: a stablecoin
 * keeps the payer's amount stable and round), else its first priced token.
 */
async function createFiatOrder(ctx: GatewayContext, merchantId: bigint, chain: ChainRuntime, b: CreateBody) {
  const pricing = chain.pricing;
  if (!ctx.quoter || !pricing) {
    throw new ApiError(
      ErrorCode.FiatNotConfigured,
      `isLegalTender 1 (a fiat quote in ${b.quoteCurrencySymbol}) needs price feeds on chain ${chain.chainId}, and it has none configured: quote in a crypto currency (isLegalTender 0, quoteCurrencySymbol from conf/list/currency)` +
        (ctx.quoter ? " or create the order on a chain with pricing" : ""),
    );
  }
  const currency = b.quoteCurrencySymbol.toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) {
    throw new ApiError(
      ErrorCode.InvalidRequest,
      `Invalid request: with isLegalTender 1, quoteCurrencySymbol is an ISO 4217 code such as USD or CNY, not "${b.quoteCurrencySymbol}"`,
    );
  }
  const priced = chain.tokens.filter((t) => pricing.tokens[t.symbol]);
  const names = priced
    .map((t) => `${t.symbol} (currencyId ${ctx.wire.currencyOf(chain.chainId, t.address)?.currencyId ?? "?"})`)
    .join(", ");
  let token: TokenConfig | undefined;
  if (b.currencyId !== undefined) {
    token = ctx.currency(chain, intOf(b.currencyId, "currencyId"));
    if (!pricing.tokens[token.symbol]) {
      throw new ApiError(
        ErrorCode.FiatUnpriced,
        `currencyId ${b.currencyId} (${token.symbol}) has no price feed on chain ${chain.chainId}: pay in one of ${names || "(none)"}`,
      );
    }
  } else {
    token = priced.find((t) => pricing.tokens[t.symbol]!.peg) ?? priced[0];
    if (!token)
      throw new ApiError(ErrorCode.FiatUnpriced, `Chain ${chain.chainId} prices no token: its pricing config names none of its tokens`);
  }
  const { order } = await createPaymentOrderIn(ctx, merchantId, chain, token, {
    merchantOrderId: b.outTradeNo,
    chainId: chain.chainId,
    token: token.address,
    amount: b.quoteAmount,
    amountField: "quoteAmount",
    fiatCurrency: currency,
    notifyUrl: b.notifyUrl,
    redirectionUrl: b.redirectionUrl || undefined,
    expireSeconds: b.expireSeconds,
    description: b.description,
  });
  return order;
}

/** The payment routes of Pay Protocol's reference (3.3-3.8), plus payment/cancel. */
export function paymentRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    app.post<{ Body: CreateBody }>(
      "/payment/createPaymentOrder",
      {
        config: { idempotentBy: ["outTradeNo"] },
        schema: {
          summary:
            "Create a payment order: a crypto quote (a symbol and an amount) or a fiat quote (isLegalTender 1: an ISO currency, priced from the chain's price feeds and locked) on a chain, a deposit address leased to it, the payment page's URL. Idempotent by outTradeNo: the same request answers the same order, other parameters are a conflict (40901)",
          tags: ["payment"],
          operationId: "paymentCreatePaymentOrder",
          body: {
            type: "object",
            additionalProperties: false,
            required: ["chainId", "outTradeNo", "quoteCurrencySymbol", "quoteAmount", "notifyUrl"],
            properties: {
              chainId: chainIdField,
              description: { type: "string", maxLength: 1024, description: "order description (optional here, default empty)" },
              outTradeNo: keyField("the merchant's order number, unique per merchant: printable ASCII without spaces, at most 128"),
              isLegalTender: {
                type: ["integer", "string"],
                enum: [0, 1, "0", "1"],
                description:
                  "0: a crypto quote (default). 1: a fiat quote: quoteCurrencySymbol is an ISO 4217 code (USD, CNY, …) and quoteAmount is in it; the amount to pay is priced from the chain's price feeds (pricing config) and locked until the order expires. The coin paid in: currencyId when given (a priced token), else the chain's first priced stablecoin (a pricing.tokens entry with a peg, in the order of the chain's tokens), else its first priced token. Refused with 40012 when the chain has no pricing config, 40013 when it cannot price that currency or token, 50302 when a feed is stale, zero, negative, off its peg or unreadable (nothing is created)",
              },
              quoteCurrencySymbol: {
                type: "string",
                minLength: 1,
                maxLength: 16,
                pattern: "^[A-Za-z0-9.]+$",
                description:
                  "isLegalTender 0: the symbol of an accepted currency on chainId (conf/list/currency), e.g. USDT or ETH; case-insensitive. isLegalTender 1: an ISO 4217 code such as USD or CNY",
              },
              quoteAmount: decimalField("the amount in that currency"),
              notifyUrl: { ...httpUrl, description: "where callbacks go (public http(s))" },
              redirectionUrl: {
                type: "string",
                maxLength: 2048,
                pattern: "^(https?://[^\\s/$.?#][^\\s]*)?$",
                description: "where the payer goes after paying",
              },
              currencyId: intField(
                "addition: which currency of that symbol, when the chain accepts several (conf/list/currency); with isLegalTender 1, the currency to pay in (default: the chain's first priced stablecoin)",
              ),
              expireSeconds: {
                type: "integer",
                minimum: ctx.config.minOrderTtlSeconds,
                maximum: ctx.config.maxOrderTtlSeconds,
                description: `addition: lifetime of the unpaid order (default ${ctx.config.orderTtlSeconds} s)`,
              },
            },
          },
          response: { 200: envelope(ref("CreatedPaymentOrder")), ...errorResponses },
        },
      },
      async (request) => {
        const b = request.body;
        const chain = chainOf(ctx, b.chainId);
        if (Number(b.isLegalTender ?? 0) === 1)
          return ok(presentCreatedPayment(ctx.wire, await createFiatOrder(ctx, request.merchantId, chain, b)));
        const token =
          b.currencyId === undefined ? ctx.token(chain, b.quoteCurrencySymbol) : ctx.currency(chain, intOf(b.currencyId, "currencyId"));
        if (token.symbol.toUpperCase() !== b.quoteCurrencySymbol.toUpperCase()) {
          throw new ApiError(
            ErrorCode.UnknownToken,
            `currencyId ${b.currencyId} is ${token.symbol}, not quoteCurrencySymbol ${b.quoteCurrencySymbol}`,
          );
        }
        const { order } = await createPaymentOrderIn(ctx, request.merchantId, chain, token, {
          merchantOrderId: b.outTradeNo,
          chainId: chain.chainId,
          token: token.address,
          amount: b.quoteAmount,
          amountField: "quoteAmount",
          notifyUrl: b.notifyUrl,
          redirectionUrl: b.redirectionUrl || undefined,
          expireSeconds: b.expireSeconds,
          description: b.description,
          quoteSymbol: b.quoteCurrencySymbol,
        });
        return ok(presentCreatedPayment(ctx.wire, order));
      },
    );

    app.get<{ Querystring: Ref }>(
      "/payment/detail",
      {
        schema: {
          summary: "A payment order by outTradeNo (and outPaymentNo, when given: both must match): the object the payment callback carries",
          tags: ["payment"],
          operationId: "paymentDetail",
          querystring: { type: "object", additionalProperties: false, properties: refProps },
          response: { 200: envelope(ref("PaymentOrder")), ...errorResponses },
        },
      },
      async (request) => ok(presentPayment(ctx.wire, await getPaymentView(ctx.db, request.merchantId, paymentRefOf(request.query)))),
    );

    app.get<{ Querystring: Record<string, string | undefined> }>(
      "/payment/list",
      {
        schema: {
          summary: "The merchant's payment orders, newest first, a page at a time",
          tags: ["payment"],
          operationId: "paymentList",
          querystring: listQuery(`paymentStatus: ${PAYMENT_CODES_TEXT}`),
          response: { 200: envelope(pageSchema("PaymentOrder")), ...errorResponses },
        },
      },
      async (request) => {
        const q = request.query;
        const page = pageOf(q);
        const code = statusCodeOf(q, PAYMENT_CODES, PAYMENT_CODES_TEXT);
        const { count, list } = await listPaymentViews(
          ctx.db,
          request.merchantId,
          {
            chainId: q.chainId === undefined ? undefined : Number(q.chainId),
            ...(code === undefined ? {} : paymentListFilter(code as PayPaymentStatus)),
            txHash: txHashOf(q.transactionHash),
            ...timeRangeOf(q),
          },
          page,
        );
        return ok(
          presentPage(
            count,
            page.page,
            page.size,
            list.map((v) => presentPayment(ctx.wire, v)),
          ),
        );
      },
    );

    app.get<{ Querystring: Ref }>(
      "/payment/payInfo",
      {
        schema: {
          summary: "What the payment page shows: seconds left, the merchant's name, the deposit address and its saltHash",
          tags: ["payment"],
          operationId: "paymentPayInfo",
          querystring: { type: "object", additionalProperties: false, properties: refProps },
          response: { 200: envelope(ref("PayInfo")), ...errorResponses },
        },
      },
      async (request) => {
        const o = await getPaymentOrder(ctx.db, request.merchantId, paymentRefOf(request.query));
        return ok(presentPayInfo(ctx.wire, o, await getMerchantName(ctx.db, o.merchantId)));
      },
    );

    app.post<{ Body: { chainId: number | string; currencyId: number | string; outTradeNo: string } }>(
      "/payment/payInfo/update",
      {
        schema: {
          summary:
            "Move an open order to another accepted chain or currency of its quote (a crypto quote: the same symbol; a fiat quote, isLegalTender 1: any priced coin, re-quoted at the current rate with a fresh countdown: exchangeRate, rateLockedUntil, expireTime). A new deposit address and expected amount; what already arrived counts (paidAmount; for a fiat quote its share of the old amount, of the new one). Refused (40902) while a transfer awaits confirmations; a refused feed answers 50302 and nothing moves",
          tags: ["payment"],
          operationId: "paymentPayInfoUpdate",
          body: {
            type: "object",
            additionalProperties: false,
            required: ["chainId", "currencyId", "outTradeNo"],
            properties: {
              chainId: chainIdField,
              currencyId: intField("the currency to pay in (conf/list/currency)"),
              outTradeNo: keyField("the order"),
            },
          },
          response: { 200: envelope(ref("PayInfoUpdate")), ...errorResponses },
        },
      },
      async (request) => {
        const b = request.body;
        const chain = chainOf(ctx, b.chainId);
        const token = ctx.currency(chain, intOf(b.currencyId, "currencyId"));
        const { order } = await movePaymentTo(ctx, {
          merchantId: request.merchantId,
          ref: { merchantOrderId: b.outTradeNo },
          chain,
          token,
        });
        return ok(presentPayInfoUpdate(ctx.wire, order));
      },
    );

    notifyRoute<Ref>(
      app,
      "payment/notify",
      "Send the order's callback once more (its latest event, under its event id)",
      { properties: refProps },
      (request, r) => requeuePaymentNotification(ctx.db, request.merchantId, paymentRefOf(r)),
    );

    app.post<{ Body: Ref }>(
      "/payment/cancel",
      {
        schema: {
          summary: "Addition: cancel an order while nothing was paid to it (state -3, paymentStatus 4)",
          tags: ["payment"],
          operationId: "paymentCancel",
          body: { type: "object", additionalProperties: false, properties: refProps },
          response: { 200: envelope(ref("PaymentOrder")), ...errorResponses },
        },
      },
      async (request) => {
        const ref = paymentRefOf(request.body);
        await applyPaymentEvent(ctx.db, {
          merchantId: request.merchantId,
          ref,
          event: { type: "cancel" },
          poolCooldownSeconds: ctx.config.poolCooldownSeconds,
        });
        return ok(presentPayment(ctx.wire, await getPaymentView(ctx.db, request.merchantId, ref)));
      },
    );
  };
}
