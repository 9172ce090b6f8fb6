import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { formatAmount, parseAmount } from "../../domain/money.js";
import { PayoutStatus } from "../../domain/orderStateMachine.js";
import { approvePayout, rejectPayout, requeuePayoutNotification, type PayoutOrderRecord } from "../../store/payoutOrders.js";
import { createRefundOrder, getRefundOrder, refundRef as toRefundRef } from "../../store/refundOrders.js";
import { checksum, formatTime, type GatewayContext } from "../context.js";
import { ApiError, ErrorCode } from "../errors.js";
import { envelope, errorResponses, httpUrl, humanAmount, idString, nullableString } from "../schemas.js";
import { approvedByField, createPayoutApproval, payoutSignatureField } from "./payoutApproval.js";

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
    approvedBy: approvedByField,
    reason: nullableString,
    notifyUrl: nullableString,
    payoutDeadline: { type: "integer", description: "unix seconds: the payout must execute before it" },
    payoutTypedData: {
      type: "object",
      additionalProperties: true,
      description: "while pending approval: the EIP-712 data (domain, types, primaryType, message; integers as strings) the payout signer signs",
    },
    createTime: { type: "string" },
  },
};

const refundRef = { refundOrderId: idString, merchantRefundId: idString };
const oneRefundRef = (extra: Record<string, unknown>, required: string[] = []) => ({
  type: "object",
  additionalProperties: false,
  required,
  properties: { ...refundRef, ...extra },
});

const address = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" };

export function refundRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    const approval = createPayoutApproval(ctx);
    const present = (r: PayoutOrderRecord) => ({
      refundOrderId: r.id,
      merchantRefundId: r.merchantRef,
      payOrderId: r.payOrderId!,
      merchantOrderId: r.merchantOrderId!,
      state: r.status,
      amount: formatAmount(r.amount, r.tokenDecimals!),
      amountBaseUnits: r.amount.toString(),
      toAddress: checksum(r.toAddress)!,
      payoutId: r.payoutId.toString(),
      txHash: r.txHash,
      approvedBy: r.approvedBy,
      reason: r.reason,
      notifyUrl: r.notifyUrl,
      createTime: formatTime(r.createdAt),
      payoutDeadline: Math.floor(r.payoutDeadline.getTime() / 1000),
      ...(r.status === PayoutStatus.PendingApproval ? { payoutTypedData: approval.typedDataJson(r) } : {}),
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
          payoutDeadlineSeconds: ctx.config.payoutDeadlineSeconds,
        });
        return ok(present(refund));
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
        return ok(present(await getRefundOrder(ctx.db, request.merchantId, request.query)));
      },
    );

    const refOf = (b: { refundOrderId?: string; merchantRefundId?: string }) => {
      if ((b.refundOrderId === undefined) === (b.merchantRefundId === undefined)) {
        throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: give exactly one of refundOrderId and merchantRefundId");
      }
      return toRefundRef(b);
    };

    app.post<{ Body: { refundOrderId?: string; merchantRefundId?: string; signature?: string } }>(
      "/refund/approve",
      {
        schema: {
          summary: "Approve a pending refund: with the payout signer's EIP-712 signature over payoutTypedData, or none when the gateway holds the payout key",
          body: oneRefundRef({ signature: payoutSignatureField }),
          response: { 200: envelope(refundSchema), ...errorResponses },
        },
      },
      async (request) => {
        const ref = refOf(request.body);
        await approval.requireSignature(request, request.body.signature);
        const refund = await approvePayout(ctx.db, {
          kind: "refund",
          merchantId: request.merchantId,
          ref,
          authorize: approval.authorize(request.body.signature, "refund/detail", "refund"),
        });
        return ok(present(refund));
      },
    );

    app.post<{ Body: { refundOrderId?: string; merchantRefundId?: string; reason?: string } }>(
      "/refund/reject",
      {
        schema: {
          summary: "Reject a pending refund; its amount becomes refundable again",
          body: oneRefundRef({ reason: { type: "string", maxLength: 256 } }),
          response: { 200: envelope(refundSchema), ...errorResponses },
        },
      },
      async (request) => {
        const refund = await rejectPayout(ctx.db, {
          kind: "refund",
          merchantId: request.merchantId,
          ref: refOf(request.body),
          reason: request.body.reason ?? "rejected by the merchant",
        });
        return ok(present(refund));
      },
    );

    app.post<{ Body: { refundOrderId?: string; merchantRefundId?: string } }>(
      "/refund/notify",
      {
        schema: {
          summary: "Queue the refund's latest webhook again (same event id)",
          body: oneRefundRef({}),
          response: {
            200: envelope({ type: "object", required: ["eventId"], properties: { eventId: { type: "string" } } }),
            ...errorResponses,
          },
        },
      },
      async (request) => ok({ eventId: await requeuePayoutNotification(ctx.db, "refund", request.merchantId, refOf(request.body)) }),
    );
  };
}
