import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { formatAmount, parseAmount } from "../../domain/money.js";
import { getPaymentOrder } from "../../store/paymentOrders.js";
import { createRefundOrder, getRefundOrder, type RefundOrderRecord } from "../../store/refundOrders.js";
import { checksum, formatTime, type GatewayContext } from "../context.js";
import { ApiError, ErrorCode } from "../errors.js";
import { envelope, errorResponses, httpUrl, humanAmount, idString, nullableString } from "../schemas.js";

const refundSchema = {
  type: "object",
  required: ["refundOrderId", "merchantRefundId", "payOrderId", "state", "amount", "toAddress", "payoutId"],
  properties: {
    refundOrderId: { type: "string" },
    merchantRefundId: { type: "string" },
    payOrderId: { type: "string" },
    merchantOrderId: { type: "string" },
    state: { type: "integer", description: "0 pending approval, 1 approved, 2 broadcast, 3 success, -1 rejected, -2 failed" },
    amount: { type: "string" },
    amountBaseUnits: { type: "string" },
    toAddress: { type: "string" },
    payoutId: { type: "string", description: "the vault payout id this refund will be paid under" },
    txHash: nullableString,
    reason: nullableString,
    notifyUrl: nullableString,
    createTime: { type: "string" },
  },
};

const address = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" };

export function refundRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    const present = (r: RefundOrderRecord, merchantOrderId: string, decimals: number) => ({
      refundOrderId: r.id,
      merchantRefundId: r.merchantRefundId,
      payOrderId: r.payOrderId,
      merchantOrderId,
      state: r.status,
      amount: formatAmount(r.amount, decimals),
      amountBaseUnits: r.amount.toString(),
      toAddress: checksum(r.toAddress)!,
      payoutId: r.payoutId.toString(),
      txHash: r.txHash,
      reason: r.reason,
      notifyUrl: r.notifyUrl,
      createTime: formatTime(r.createdAt),
    });
    const ok = (data: unknown) => ({ code: 200, msg: "success", data });

    app.post<{
      Body: {
        merchantRefundId: string;
        payOrderId?: string;
        merchantOrderId?: string;
        amount: string;
        toAddress?: string;
        reason?: string;
        notifyUrl?: string;
      };
    }>(
      "/refund/createRefundOrder",
      {
        schema: {
          summary: "Refund part or all of a closed payment (several times, never more than was paid); pending the merchant's approval",
          body: {
            type: "object",
            additionalProperties: false,
            required: ["merchantRefundId", "amount"],
            properties: {
              merchantRefundId: idString,
              payOrderId: idString,
              merchantOrderId: idString,
              amount: humanAmount,
              toAddress: { ...address, description: "defaults to the payer's address (the sender of the payment)" },
              reason: { type: "string", maxLength: 256 },
              notifyUrl: httpUrl,
            },
          },
          response: { 200: envelope(refundSchema), ...errorResponses },
        },
      },
      async (request) => {
        const b = request.body;
        if ((b.payOrderId === undefined) === (b.merchantOrderId === undefined)) {
          throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: give exactly one of payOrderId and merchantOrderId");
        }
        const payment = b.payOrderId ? { payOrderId: b.payOrderId } : { merchantOrderId: b.merchantOrderId };
        const requestHash = createHash("sha256")
          .update(JSON.stringify([b.payOrderId ?? null, b.merchantOrderId ?? null, b.amount.replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, ""), b.toAddress?.toLowerCase() ?? null, b.reason ?? null, b.notifyUrl ?? null]))
          .digest("hex");
        const { refund } = await createRefundOrder(ctx.db, {
          merchantId: request.merchantId,
          payment,
          merchantRefundId: b.merchantRefundId,
          requestHash,
          amount: (decimals) => {
            const a = parseAmount(b.amount, decimals);
            if (a === 0n) throw new ApiError(ErrorCode.InvalidAmount, "amount must be greater than zero");
            return a;
          },
          toAddress: b.toAddress ?? null,
          reason: b.reason ?? null,
          notifyUrl: b.notifyUrl ?? null,
        });
        const order = await getPaymentOrder(ctx.db, request.merchantId, { payOrderId: refund.payOrderId });
        return ok(present(refund, order.merchantOrderId, order.tokenDecimals));
      },
    );

    app.get<{ Querystring: { refundOrderId?: string; merchantRefundId?: string } }>(
      "/refund/detail",
      {
        schema: {
          summary: "A refund order by refundOrderId or merchantRefundId",
          querystring: {
            type: "object",
            additionalProperties: false,
            minProperties: 1,
            maxProperties: 1,
            properties: { refundOrderId: idString, merchantRefundId: idString },
          },
          response: { 200: envelope(refundSchema), ...errorResponses },
        },
      },
      async (request) => {
        const refund = await getRefundOrder(ctx.db, request.merchantId, request.query);
        const order = await getPaymentOrder(ctx.db, request.merchantId, { payOrderId: refund.payOrderId });
        return ok(present(refund, order.merchantOrderId, order.tokenDecimals));
      },
    );
  };
}
