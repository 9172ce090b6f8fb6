import type { FastifyInstance } from "fastify";
import { formatAmount } from "../../domain/money.js";
import { refundableAmount } from "../../domain/orderStateMachine.js";
import {
  applyPaymentEvent,
  getPaymentOrder,
  getPaymentOrderOnce,
  requeuePaymentNotification,
  type PaymentOrderRecord,
} from "../../store/paymentOrders.js";
import { paymentTransfersDetail, paymentTransfersProperties } from "../../store/ingest.js";
import { NonceReusedError } from "../../store/nonces.js";
import { foldedNonceOf, markNonceUsed, nonceReusedError, recordUnusedNonce } from "../auth.js";
import { checksum, formatTime, type GatewayContext } from "../context.js";
import { createPaymentOrderFor, paymentUrlOf } from "../paymentOrderService.js";
import { envelope, errorResponses, httpUrl, humanAmount, idString, nullableString } from "../schemas.js";

const orderSchema = {
  type: "object",
  required: ["payOrderId", "merchantOrderId", "state", "receiptAddress", "paymentUrl", "accessSign", "amount"],
  properties: {
    payOrderId: { type: "string" },
    merchantOrderId: { type: "string" },
    state: { type: "integer", description: "0 unpaid, 1 incomplete, 2 awaiting confirmation, 3 confirming, 4 success, -1 failed, -2 expired, -3 cancelled" },
    chainId: { type: "integer" },
    chainCode: { type: "string" },
    token: { type: "string" },
    tokenSymbol: { type: "string" },
    decimals: { type: "integer" },
    amount: { type: "string" },
    amountBaseUnits: { type: "string" },
    seenAmount: { type: "string" },
    paidAmount: { type: "string" },
    refundedAmount: { type: "string" },
    refundableAmount: { type: "string" },
    receiptAddress: { type: "string" },
    payerAddress: nullableString,
    accessSign: { type: "string" },
    paymentUrl: { type: "string" },
    notifyUrl: { type: "string" },
    redirectionUrl: nullableString,
    expireTime: { type: "string" },
    expireAt: { type: "integer" },
    createTime: { type: "string" },
    ...paymentTransfersProperties, // payment/detail only
  },
};

const refSchema = {
  type: "object",
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: { payOrderId: idString, merchantOrderId: idString },
};

const refuseReplay = (e: unknown): never => {
  throw e instanceof NonceReusedError ? nonceReusedError() : e;
};

export function paymentRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    const present = (o: PaymentOrderRecord) => {
      const chain = ctx.chain(o.chainId);
      const d = o.tokenDecimals;
      return {
        payOrderId: o.id,
        merchantOrderId: o.merchantOrderId,
        state: o.status,
        chainId: o.chainId,
        chainCode: chain.code,
        token: checksum(o.tokenAddress)!,
        tokenSymbol: o.tokenSymbol,
        decimals: d,
        amount: formatAmount(o.amount, d),
        amountBaseUnits: o.amount.toString(),
        seenAmount: formatAmount(o.seenAmount, d),
        paidAmount: formatAmount(o.paidAmount, d),
        refundedAmount: formatAmount(o.refundedAmount, d),
        refundableAmount: formatAmount(refundableAmount(o), d),
        receiptAddress: checksum(o.receiptAddress)!,
        payerAddress: checksum(o.payerAddress),
        accessSign: o.accessSign,
        paymentUrl: paymentUrlOf(ctx, o),
        notifyUrl: o.notifyUrl,
        redirectionUrl: o.redirectionUrl,
        expireTime: formatTime(o.expiresAt),
        expireAt: o.expiresAt.getTime(),
        createTime: formatTime(o.createdAt),
      };
    };
    const ok = (data: unknown) => ({ code: 200, msg: "success", data });

    // create and detail record the request nonce in their one database call (api/auth.ts foldNonce)
    app.addHook("onResponse", recordUnusedNonce(ctx.db));

    app.post<{
      Body: {
        merchantOrderId: string;
        chainId: number;
        token: string;
        amount: string;
        notifyUrl: string;
        redirectionUrl?: string;
        expireSeconds?: number;
      };
    }>(
      "/payment/createPaymentOrder",
      {
        config: { foldNonce: true },
        schema: {
          summary: "Create a payment order and lease it a deposit address",
          body: {
            type: "object",
            additionalProperties: false,
            required: ["merchantOrderId", "chainId", "token", "amount", "notifyUrl"],
            properties: {
              merchantOrderId: idString,
              chainId: { type: "integer", minimum: 1 },
              token: { type: "string", minLength: 1, maxLength: 42, description: "symbol (USDT) or token address; 0x000…0 = native coin" },
              amount: { ...humanAmount, description: 'human amount, e.g. "12.50"' },
              notifyUrl: httpUrl,
              redirectionUrl: httpUrl,
              expireSeconds: { type: "integer", minimum: ctx.config.minOrderTtlSeconds, maximum: ctx.config.maxOrderTtlSeconds },
            },
          },
          response: { 200: envelope(orderSchema), ...errorResponses },
        },
      },
      async (request) => {
        const { order } = await createPaymentOrderFor(ctx, request.merchantId, request.body, foldedNonceOf(request)).catch(refuseReplay);
        markNonceUsed(request);
        return ok(present(order));
      },
    );

    app.get<{ Querystring: { payOrderId?: string; merchantOrderId?: string } }>(
      "/payment/detail",
      {
        config: { foldNonce: true },
        schema: {
          summary: "A payment order by payOrderId or merchantOrderId",
          querystring: refSchema,
          response: { 200: envelope(orderSchema), ...errorResponses },
        },
      },
      async (request) => {
        const nonce = foldedNonceOf(request);
        const order = nonce
          ? await getPaymentOrderOnce(ctx.db, request.merchantId, request.query, nonce).catch(refuseReplay)
          : await getPaymentOrder(ctx.db, request.merchantId, request.query);
        markNonceUsed(request);
        return ok({ ...present(order), ...(await paymentTransfersDetail(ctx.db, order)) });
      },
    );

    app.post<{ Body: { payOrderId?: string; merchantOrderId?: string } }>(
      "/payment/cancel",
      {
        schema: {
          summary: "Cancel an order while nothing was paid to it (state -3)",
          body: refSchema,
          response: { 200: envelope(orderSchema), ...errorResponses },
        },
      },
      async (request) =>
        ok(
          present(
            await applyPaymentEvent(ctx.db, {
              merchantId: request.merchantId,
              ref: request.body,
              event: { type: "cancel" },
              poolCooldownSeconds: ctx.config.poolCooldownSeconds,
            }),
          ),
        ),
    );

    app.post<{ Body: { payOrderId?: string; merchantOrderId?: string } }>(
      "/payment/notify",
      {
        schema: {
          summary: "Queue the order's latest webhook again (same event id)",
          body: refSchema,
          response: {
            200: envelope({ type: "object", required: ["eventId"], properties: { eventId: { type: "string" } } }),
            ...errorResponses,
          },
        },
      },
      async (request) => ok({ eventId: await requeuePaymentNotification(ctx.db, request.merchantId, request.body) }),
    );
  };
}
