import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { formatAmount, parseAmount } from "../../domain/money.js";
import { PayoutStatus } from "../../domain/orderStateMachine.js";
import { approvePayout, getPayoutOrder, rejectPayout, requeuePayoutNotification, type PayoutOrderRecord } from "../../store/payoutOrders.js";
import { createSettlementOrder, settlementRef } from "../../store/settlementOrders.js";
import { checksum, formatTime, type GatewayContext } from "../context.js";
import { ApiError, ErrorCode } from "../errors.js";
import { envelope, errorResponses, httpUrl, humanAmount, idString, nullableString } from "../schemas.js";
import { approvedByField, createPayoutApproval, payoutSignatureField } from "./payoutApproval.js";

const settlementSchema = {
  type: "object",
  required: ["settlementOrderId", "merchantSettlementId", "state", "chainId", "token", "amount", "toAddress", "payoutId"],
  properties: {
    settlementOrderId: { type: "string" },
    merchantSettlementId: { type: "string" },
    state: { type: "integer", description: "0 pending approval, 1 approved, 2 broadcast, 3 success, -1 rejected, -2 failed" },
    chainId: { type: "integer" },
    token: { type: "string" },
    tokenSymbol: { type: "string" },
    amount: { type: "string" },
    amountBaseUnits: { type: "string" },
    toAddress: { type: "string" },
    payoutId: { type: "string", description: "the vault payout id (the same per-merchant sequence as refunds and withdrawals)" },
    payoutDeadline: { type: "integer", description: "unix seconds: the payout must execute before it" },
    payoutTypedData: {
      type: "object",
      additionalProperties: true,
      description: "while pending approval: the EIP-712 data (kind 2, settlement) the payout signer signs",
    },
    approvedBy: approvedByField,
    txHash: nullableString,
    reason: nullableString,
    notifyUrl: nullableString,
    createTime: { type: "string" },
  },
};
const address = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" };
const refFields = { settlementOrderId: idString, merchantSettlementId: idString };
type Ref = { settlementOrderId?: string; merchantSettlementId?: string };

/** Settlements: the merchant withdraws its own vault balance (payout kind 2) to an address of its own. */
export function settlementRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    const approval = createPayoutApproval(ctx);
    const present = (o: PayoutOrderRecord) => {
      const token = ctx.token(ctx.chain(o.chainId), o.tokenAddress);
      return {
        settlementOrderId: o.id,
        merchantSettlementId: o.merchantRef,
        state: o.status,
        chainId: o.chainId,
        token: checksum(o.tokenAddress)!,
        tokenSymbol: token.symbol,
        amount: formatAmount(o.amount, token.decimals),
        amountBaseUnits: o.amount.toString(),
        toAddress: checksum(o.toAddress)!,
        payoutId: o.payoutId.toString(),
        payoutDeadline: Math.floor(o.payoutDeadline.getTime() / 1000),
        ...(o.status === PayoutStatus.PendingApproval ? { payoutTypedData: approval.typedDataJson(o) } : {}),
        approvedBy: o.approvedBy,
        txHash: o.txHash,
        reason: o.reason,
        notifyUrl: o.notifyUrl,
        createTime: formatTime(o.createdAt),
      };
    };
    const ok = (data: unknown) => ({ code: 200, msg: "success", data });
    const refOf = (b: Ref) => {
      if ((b.settlementOrderId === undefined) === (b.merchantSettlementId === undefined)) {
        throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: give exactly one of settlementOrderId and merchantSettlementId");
      }
      return settlementRef(b);
    };
    const refBody = (extra: Record<string, unknown> = {}) => ({
      type: "object",
      additionalProperties: false,
      properties: { ...refFields, ...extra },
    });
    const one = { 200: envelope(settlementSchema), ...errorResponses };

    app.post<{ Body: { merchantSettlementId: string; chainId: number; token: string; amount: string; toAddress: string; notifyUrl?: string } }>(
      "/settlement/apply",
      {
        schema: {
          summary: "Settle part of the merchant's vault balance to its own address, pending approval (idempotent by merchantSettlementId)",
          body: {
            type: "object",
            additionalProperties: false,
            required: ["merchantSettlementId", "chainId", "token", "amount", "toAddress"],
            properties: {
              merchantSettlementId: idString,
              chainId: { type: "integer", minimum: 1 },
              token: { type: "string", minLength: 1, maxLength: 42 },
              amount: humanAmount,
              toAddress: { ...address, description: "the merchant's own address that receives the settlement" },
              notifyUrl: httpUrl,
            },
          },
          response: one,
        },
      },
      async (request) => {
        const b = request.body;
        const chain = ctx.chain(b.chainId);
        const token = ctx.token(chain, b.token);
        const amount = parseAmount(b.amount, token.decimals);
        if (amount === 0n) throw new ApiError(ErrorCode.InvalidAmount, "amount must be greater than zero");
        const requestHash = createHash("sha256")
          .update(JSON.stringify([b.chainId, token.address.toLowerCase(), amount.toString(), b.toAddress.toLowerCase(), b.notifyUrl ?? null]))
          .digest("hex");
        const { settlement } = await createSettlementOrder(ctx.db, {
          merchantId: request.merchantId,
          merchantSettlementId: b.merchantSettlementId,
          requestHash,
          chainId: chain.chainId,
          tokenAddress: token.address,
          amount,
          toAddress: b.toAddress,
          notifyUrl: b.notifyUrl ?? null,
          payoutDeadlineSeconds: ctx.config.payoutDeadlineSeconds,
        });
        return ok(present(settlement));
      },
    );

    app.get<{ Querystring: Ref }>(
      "/settlement/detail",
      {
        schema: {
          summary: "A settlement by settlementOrderId or merchantSettlementId",
          querystring: { type: "object", additionalProperties: false, minProperties: 1, maxProperties: 1, properties: refFields },
          response: one,
        },
      },
      async (request) => ok(present(await getPayoutOrder(ctx.db, "settlement", request.merchantId, settlementRef(request.query)))),
    );

    app.post<{ Body: Ref & { signature?: string } }>(
      "/settlement/approve",
      {
        schema: {
          summary: "Approve a pending settlement: with the payout signer's EIP-712 signature over payoutTypedData, or none when the gateway holds the payout key",
          body: refBody({ signature: payoutSignatureField }),
          response: one,
        },
      },
      async (request) => {
        const ref = refOf(request.body);
        await approval.requireSignature(request, request.body.signature);
        const settlement = await approvePayout(ctx.db, {
          kind: "settlement",
          merchantId: request.merchantId,
          ref,
          authorize: approval.authorize(request.body.signature, "settlement/detail", "settlement"),
        });
        return ok(present(settlement));
      },
    );

    app.post<{ Body: Ref & { reason?: string } }>(
      "/settlement/reject",
      {
        schema: { summary: "Reject a pending settlement", body: refBody({ reason: { type: "string", maxLength: 256 } }), response: one },
      },
      async (request) =>
        ok(
          present(
            await rejectPayout(ctx.db, {
              kind: "settlement",
              merchantId: request.merchantId,
              ref: refOf(request.body),
              reason: request.body.reason ?? "rejected by the merchant",
            }),
          ),
        ),
    );

    app.post<{ Body: Ref }>(
      "/settlement/notify",
      {
        schema: {
          summary: "Queue the settlement's latest webhook again (same event id)",
          body: refBody(),
          response: {
            200: envelope({ type: "object", required: ["eventId"], properties: { eventId: { type: "string" } } }),
            ...errorResponses,
          },
        },
      },
      async (request) => ok({ eventId: await requeuePayoutNotification(ctx.db, "settlement", request.merchantId, refOf(request.body)) }),
    );
  };
}
