import type { FastifyInstance } from "fastify";
import { buildStatement, parsePeriodBound, statementToCsv, TOTAL_FIELDS } from "../../store/statements.js";
import { ApiError, ErrorCode } from "../../wire/errors.js";
import { presentStatement } from "../../wire/presenters.js";
import { envelope, errorResponses } from "../../wire/schemas.js";
import type { GatewayContext } from "../context.js";

/** Longest period one request may ask for: a year and a bit (bigger exports: the `bill` CLI). */
const MAX_PERIOD_DAYS = 400;

const bound = { type: "string", minLength: 10, maxLength: 35, pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9:.]+(Z|[+-][0-9:]+)?)?$" };
const units = (description: string) => ({
  type: "string",
  pattern: "^-?[0-9]+$",
  description: `${description}, in the token's smallest unit`,
});
const nullableUnits = (description: string) => ({ type: ["string", "null"], description: `${description}, in the token's smallest unit` });
const lineSchema = {
  type: "object",
  required: ["kind", "id", "chainId", "currencyId", "symbol", "decimals", "amount", "time"],
  properties: {
    kind: { type: "string", enum: ["payment", "refund", "recharge", "withdrawal", "settlement", "fee"] },
    id: { type: "string", description: "the gateway's row id of the line" },
    merchantRef: { type: ["string", "null"], description: "the merchant's own key: outTradeNo, outRefundNo, uuid, …" },
    relatedId: { type: ["string", "null"], description: "refunds: the payment's outPaymentNo" },
    chainId: { type: "integer" },
    currencyId: { type: "integer" },
    symbol: { type: "string" },
    decimals: { type: "integer" },
    status: {
      type: ["integer", "null"],
      description:
        "the line's status in its kind's codes: paymentStatus for payments (5.1, without the refunded 5), refundStatus/withdrawStatus/settlementStatus for payouts (5.2/5.4), rechargeStatus for recharges (5.3); null for fees",
    },
    amount: units("due (payments) or moved (everything else)"),
    paidAmount: nullableUnits("payments: what arrived, late payments included"),
    fee: nullableUnits("the platform fee of the line"),
    counterparty: { type: ["string", "null"] },
    transferHash: { type: ["string", "null"] },
    time: { type: "string" },
  },
};
const totalSchema = {
  type: "object",
  properties: {
    chainId: { type: "integer" },
    currencyId: { type: "integer" },
    symbol: { type: "string" },
    decimals: { type: "integer" },
    ...Object.fromEntries(
      TOTAL_FIELDS.map((f) => [
        f,
        units(f === "net" ? "received + recharged - fees - refunded - withdrawn - settled (may be negative)" : f),
      ]),
    ),
  },
};
const statementSchema = {
  type: "object",
  required: ["orgId", "from", "to", "lines", "totals"],
  properties: {
    orgId: { type: "integer" },
    from: { type: "string" },
    to: { type: "string" },
    generateTime: { type: "string" },
    feeBps: { type: "integer" },
    feeSource: { type: "string", enum: ["sweep_ledger", "vault_events", "fee_bps"] },
    lines: { type: "array", items: lineSchema },
    totals: { type: "array", items: totalSchema },
  },
};

export function billRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    const tokens = (chainId: number, address: string) =>
      ctx.chains.find((c) => c.chainId === chainId)?.tokens.find((t) => t.address.toLowerCase() === address);

    app.get<{ Querystring: { from: string; to: string; format?: "json" | "csv" } }>(
      "/bill",
      {
        schema: {
          tags: ["bill"],
          operationId: "bill",
          summary:
            "Addition: the merchant's statement (amounts in the token's smallest unit; format=csv adds human amounts for spreadsheets) for [from, to): payments, refunds, recharges, withdrawals, settlements and fees, with totals per token (format=csv answers text/csv)",
          querystring: {
            type: "object",
            additionalProperties: false,
            required: ["from", "to"],
            properties: {
              from: { ...bound, description: "YYYY-MM-DD or YYYY-MM-DD HH:mm:ss (UTC), inclusive" },
              to: { ...bound, description: "exclusive; a date alone means the end of that day" },
              format: { type: "string", enum: ["json", "csv"], description: "default json" },
            },
          },
          response: { 200: envelope(statementSchema), ...errorResponses },
          produces: ["application/json", "text/csv"],
        },
      },
      async (request, reply) => {
        const q = request.query;
        const from = parsePeriodBound(q.from, "from");
        const to = parsePeriodBound(q.to, "to");
        if (!from || !to) {
          throw new ApiError(
            ErrorCode.InvalidRequest,
            `Invalid request: ${!from ? "from" : "to"} must be a date YYYY-MM-DD or YYYY-MM-DD HH:mm:ss (UTC)`,
          );
        }
        if (to <= from) throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: to must be after from");
        if (to.getTime() - from.getTime() > MAX_PERIOD_DAYS * 86_400_000) {
          throw new ApiError(
            ErrorCode.InvalidRequest,
            `Invalid request: the period is longer than ${MAX_PERIOD_DAYS} days; ask for shorter periods`,
          );
        }
        const statement = await buildStatement(ctx.db, { merchantId: request.merchantId, from, to, tokens });
        if (q.format === "csv") {
          const name = `statement-${request.merchantId}-${q.from.slice(0, 10)}-${q.to.slice(0, 10)}.csv`;
          return reply
            .type("text/csv; charset=utf-8")
            .header("content-disposition", `attachment; filename="${name}"`)
            .send(statementToCsv(statement));
        }
        return { code: 200, msg: "success", data: presentStatement(ctx.wire, statement) };
      },
    );
  };
}
