import type { FastifyInstance } from "fastify";
import { getPaymentOrder } from "../../store/paymentOrders.js";
import { getRechargeOrder } from "../../store/rechargeOrders.js";
import { listWebhookLog, type WebhookLogQuery } from "../../store/webhooks.js";
import { ApiError, ErrorCode } from "../../wire/errors.js";
import { formatTime } from "../../wire/presenters.js";
import { envelope, errorResponses, qInt, qKey } from "../../wire/schemas.js";
import type { GatewayContext } from "../context.js";
import { ok } from "./common.js";

const nullable = (type: string) => ({ type: [type, "null"] });
const eventSchema = {
  type: "object",
  required: ["eventId", "type", "orderKind", "orderId", "status", "attempts"],
  properties: {
    eventId: { type: "string" },
    type: { type: "string" },
    orderKind: { type: "string", description: "payment, refund, withdrawal, recharge or settlement" },
    orderId: { type: "string", description: "outPaymentNo of a payment; refundId, withdrawId or settlementId; the recharge's internal id" },
    status: {
      type: "string",
      enum: ["delivered", "pending", "dead", "suppressed", "waiting"],
      description:
        "delivered (acknowledged), pending (retrying), dead (retries exhausted; send it again with …/notify), suppressed (no callback under the merchant's callbackAllEvents setting), waiting (no callback URL yet: set rechargeNotifyUrl)",
    },
    attempts: { type: "integer" },
    nextAttemptTime: nullable("string"),
    deliveredTime: nullable("string"),
    lastError: nullable("string"),
  },
};
const attemptSchema = {
  type: "object",
  required: ["eventId", "eventType", "attemptNo", "durationMs", "attemptTime"],
  properties: {
    eventId: { type: "string" },
    eventType: { type: "string" },
    attemptNo: { type: "integer" },
    url: nullable("string"),
    httpStatus: { type: ["integer", "null"], description: "null when no answer came (see error)" },
    error: nullable("string"),
    durationMs: { type: "integer" },
    attemptTime: { type: "string" },
  },
};

type Query = { eventId?: string; outTradeNo?: string; refundId?: string; withdrawId?: string; rechargeId?: string; settlementId?: string };
const PARAMS = "eventId, outTradeNo, refundId, withdrawId, rechargeId, settlementId";

/** GET /webhook/attempts: the webhook events of one event id or one order, and every delivery attempt. */
export function webhookRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    app.get<{ Querystring: Query }>(
      "/webhook/attempts",
      {
        schema: {
          summary: "Addition: the callback events of an event id or an order and every delivery attempt (exactly one parameter)",
          tags: ["webhook"],
          operationId: "webhookAttempts",
          querystring: {
            type: "object",
            additionalProperties: false,
            minProperties: 1,
            maxProperties: 1,
            properties: {
              eventId: qKey("an event id (X-PAY-EVENT-ID)"),
              outTradeNo: qKey("a payment"),
              refundId: qInt("a refund"),
              withdrawId: qInt("a withdrawal"),
              rechargeId: qInt("a recharge"),
              settlementId: qInt("a settlement"),
            },
          },
          response: {
            200: envelope({
              type: "object",
              required: ["events", "attempts"],
              properties: { events: { type: "array", items: eventSchema }, attempts: { type: "array", items: attemptSchema } },
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const q = request.query;
        const merchantId = request.merchantId;
        const order = (aggregateKind: string, aggregateId: string): WebhookLogQuery => ({ merchantId, aggregateKind, aggregateId });
        let lq: WebhookLogQuery;
        if (q.eventId !== undefined) lq = { merchantId, eventId: q.eventId };
        else if (q.outTradeNo !== undefined)
          lq = order("payment", (await getPaymentOrder(ctx.db, merchantId, { merchantOrderId: q.outTradeNo })).id);
        else if (q.refundId !== undefined) lq = order("refund", q.refundId);
        else if (q.withdrawId !== undefined) lq = order("withdrawal", q.withdrawId);
        else if (q.settlementId !== undefined) lq = order("settlement", q.settlementId);
        else if (q.rechargeId !== undefined) lq = order("recharge", (await getRechargeOrder(ctx.db, merchantId, BigInt(q.rechargeId))).id);
        else throw new ApiError(ErrorCode.InvalidRequest, `Invalid request: give exactly one of ${PARAMS}`);
        const log = await listWebhookLog(ctx.db, lq);
        const time = (d: Date | null) => (d ? formatTime(d) : null);
        return ok({
          events: log.events.map((e) => ({
            eventId: e.eventId,
            type: e.type,
            orderKind: e.aggregateKind,
            orderId: e.aggregateId,
            status: e.status,
            attempts: e.attempts,
            nextAttemptTime: time(e.nextAttemptAt),
            deliveredTime: time(e.deliveredAt),
            lastError: e.lastError,
          })),
          attempts: log.attempts.map((a) => ({
            eventId: a.eventId,
            eventType: a.eventType,
            attemptNo: a.attemptNo,
            url: a.url,
            httpStatus: a.httpStatus,
            error: a.error,
            durationMs: a.durationMs,
            attemptTime: formatTime(a.attemptedAt),
          })),
        });
      },
    );
  };
}
