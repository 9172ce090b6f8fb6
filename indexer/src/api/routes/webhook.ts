import type { FastifyInstance } from "fastify";
import { listWebhookLog, type WebhookLogQuery } from "../../store/webhooks.js";
import { formatTime, type GatewayContext } from "../context.js";
import { ApiError, ErrorCode } from "../errors.js";
import { envelope, errorResponses, idString } from "../schemas.js";

const nullable = (type: string) => ({ type: [type, "null"] });
const eventSchema = {
  type: "object",
  required: ["eventId", "type", "orderKind", "orderId", "status", "attempts"],
  properties: {
    eventId: { type: "string" },
    type: { type: "string" },
    orderKind: { type: "string", description: "payment, refund, withdrawal, recharge or settlement" },
    orderId: { type: "string" },
    status: { type: "string", description: "delivered, pending (retrying) or dead (retries exhausted; re-send with …/notify)" },
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

type Query = {
  eventId?: string;
  payOrderId?: string;
  refundOrderId?: string;
  withdrawOrderId?: string;
  rechargeOrderId?: string;
  settlementOrderId?: string;
};
const KIND: Record<Exclude<keyof Query, "eventId">, string> = {
  payOrderId: "payment",
  refundOrderId: "refund",
  withdrawOrderId: "withdrawal",
  rechargeOrderId: "recharge",
  settlementOrderId: "settlement",
};

/** GET /webhook/attempts: the webhook events of one event id or one order, and every delivery attempt. */
export function webhookRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    app.get<{ Querystring: Query }>(
      "/webhook/attempts",
      {
        schema: {
          summary: "Webhook events and delivery attempts of an event or an order (exactly one of the parameters)",
          querystring: {
            type: "object",
            additionalProperties: false,
            minProperties: 1,
            maxProperties: 1,
            properties: {
              eventId: idString,
              payOrderId: idString,
              refundOrderId: idString,
              withdrawOrderId: idString,
              rechargeOrderId: idString,
              settlementOrderId: idString,
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
        const [[name, value]] = Object.entries(request.query) as [[keyof Query, string]];
        if (!value) throw new ApiError(ErrorCode.InvalidRequest, "Give exactly one of eventId, payOrderId, refundOrderId, withdrawOrderId, rechargeOrderId, settlementOrderId");
        const q: WebhookLogQuery =
          name === "eventId"
            ? { merchantId: request.merchantId, eventId: value }
            : { merchantId: request.merchantId, aggregateKind: KIND[name], aggregateId: value };
        const log = await listWebhookLog(ctx.db, q);
        const time = (d: Date | null) => (d ? formatTime(d) : null);
        return {
          code: 200,
          msg: "success",
          data: {
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
          },
        };
      },
    );
  };
}
