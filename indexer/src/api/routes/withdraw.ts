import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { formatAmount, parseAmount } from "../../domain/money.js";
import { PayoutStatus } from "../../domain/orderStateMachine.js";
import { approvePayout, getPayoutOrder, rejectPayout, requeuePayoutNotification, type PayoutOrderRecord } from "../../store/payoutOrders.js";
import { getUser } from "../../store/users.js";
import { createWithdrawalOrder, withdrawalRef } from "../../store/withdrawalOrders.js";
import { checksum, formatTime, type GatewayContext } from "../context.js";
import { ApiError, ErrorCode } from "../errors.js";
import { envelope, errorResponses, httpUrl, humanAmount, idString, nullableString } from "../schemas.js";
import { approvedByField, createPayoutApproval, payoutSignatureField } from "./payoutApproval.js";

const withdrawalSchema = {
  type: "object",
  required: ["withdrawOrderId", "merchantWithdrawId", "userId", "state", "amount", "toAddress", "payoutId"],
  properties: {
    withdrawOrderId: { type: "string" },
    merchantWithdrawId: { type: "string" },
    userId: { type: "integer" },
    state: { type: "integer", description: "0 pending approval, 1 approved, 2 broadcast, 3 success, -1 rejected, -2 failed" },
    chainId: { type: "integer" },
    token: { type: "string" },
    tokenSymbol: { type: "string" },
    amount: { type: "string" },
    amountBaseUnits: { type: "string" },
    toAddress: { type: "string" },
    payoutId: { type: "string" },
    payoutDeadline: { type: "integer" },
    payoutTypedData: { type: "object", additionalProperties: true },
    txHash: nullableString,
    approvedBy: approvedByField,
    reason: nullableString,
    notifyUrl: nullableString,
    createTime: { type: "string" },
  },
};
const address = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" };
const ref = { withdrawOrderId: idString, merchantWithdrawId: idString };

export function withdrawRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    const approval = createPayoutApproval(ctx);
    const present = (w: PayoutOrderRecord) => {
      const chain = ctx.chain(w.chainId);
      const token = ctx.token(chain, w.tokenAddress);
      return {
        withdrawOrderId: w.id,
        merchantWithdrawId: w.merchantRef,
        userId: Number(w.userId!),
        state: w.status,
        chainId: w.chainId,
        token: checksum(w.tokenAddress)!,
        tokenSymbol: token.symbol,
        amount: formatAmount(w.amount, token.decimals),
        amountBaseUnits: w.amount.toString(),
        toAddress: checksum(w.toAddress)!,
        payoutId: w.payoutId.toString(),
        payoutDeadline: Math.floor(w.payoutDeadline.getTime() / 1000),
        ...(w.status === PayoutStatus.PendingApproval ? { payoutTypedData: approval.typedDataJson(w) } : {}),
        txHash: w.txHash,
        approvedBy: w.approvedBy,
        reason: w.reason,
        notifyUrl: w.notifyUrl,
        createTime: formatTime(w.createdAt),
      };
    };
    const ok = (data: unknown) => ({ code: 200, msg: "success", data });
    const refOf = (b: { withdrawOrderId?: string; merchantWithdrawId?: string }) => {
      if ((b.withdrawOrderId === undefined) === (b.merchantWithdrawId === undefined)) {
        throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: give exactly one of withdrawOrderId and merchantWithdrawId");
      }
      return withdrawalRef(b);
    };

    app.post<{
      Body: {
        merchantWithdrawId: string;
        uuid?: string;
        userId?: string;
        chainId: number;
        token: string;
        amount: string;
        toAddress: string;
        notifyUrl?: string;
      };
    }>(
      "/withdraw/apply",
      {
        schema: {
          summary: "Record a user's withdrawal, pending the merchant's approval (idempotent by merchantWithdrawId)",
          body: {
            type: "object",
            additionalProperties: false,
            required: ["merchantWithdrawId", "chainId", "token", "amount", "toAddress"],
            properties: {
              merchantWithdrawId: idString,
              uuid: idString,
              userId: { type: "string", pattern: "^[1-9][0-9]{0,17}$" },
              chainId: { type: "integer", minimum: 1 },
              token: { type: "string", minLength: 1, maxLength: 42 },
              amount: humanAmount,
              toAddress: address,
              notifyUrl: httpUrl,
            },
          },
          response: { 200: envelope(withdrawalSchema), ...errorResponses },
        },
      },
      async (request) => {
        const b = request.body;
        if ((b.uuid === undefined) === (b.userId === undefined)) {
          throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: give exactly one of uuid and userId");
        }
        const chain = ctx.chain(b.chainId);
        const token = ctx.token(chain, b.token);
        const amount = parseAmount(b.amount, token.decimals);
        if (amount === 0n) throw new ApiError(ErrorCode.InvalidAmount, "amount must be greater than zero");
        const user = b.uuid ? { uuid: b.uuid } : { userId: b.userId };
        // resolve the user first so the hash names it the same way whichever reference was sent
        const { userId } = await getUser(ctx.db, request.merchantId, user);
        const requestHash = createHash("sha256")
          .update(JSON.stringify([userId.toString(), b.chainId, token.address.toLowerCase(), amount.toString(), b.toAddress.toLowerCase(), b.notifyUrl ?? null]))
          .digest("hex");
        const { withdrawal } = await createWithdrawalOrder(ctx.db, {
          merchantId: request.merchantId,
          user: { userId: userId.toString() },
          merchantWithdrawId: b.merchantWithdrawId,
          requestHash,
          chainId: chain.chainId,
          tokenAddress: token.address,
          amount,
          toAddress: b.toAddress,
          notifyUrl: b.notifyUrl ?? null,
          payoutDeadlineSeconds: ctx.config.payoutDeadlineSeconds,
        });
        return ok(present(withdrawal));
      },
    );

    app.get<{ Querystring: { withdrawOrderId?: string; merchantWithdrawId?: string } }>(
      "/withdraw/detail",
      {
        schema: {
          summary: "A withdrawal by withdrawOrderId or merchantWithdrawId",
          querystring: { type: "object", additionalProperties: false, minProperties: 1, maxProperties: 1, properties: ref },
          response: { 200: envelope(withdrawalSchema), ...errorResponses },
        },
      },
      async (request) => ok(present(await getPayoutOrder(ctx.db, "withdrawal", request.merchantId, withdrawalRef(request.query)))),
    );

    app.post<{ Body: { withdrawOrderId?: string; merchantWithdrawId?: string; signature?: string } }>(
      "/withdraw/approve",
      {
        schema: {
          summary: "Approve a pending withdrawal: with the payout signer's EIP-712 signature over payoutTypedData, or none when the gateway holds the payout key",
          body: {
            type: "object",
            additionalProperties: false,
            properties: { ...ref, signature: payoutSignatureField },
          },
          response: { 200: envelope(withdrawalSchema), ...errorResponses },
        },
      },
      async (request) => {
        const ref = refOf(request.body);
        await approval.requireSignature(request, request.body.signature);
        const withdrawal = await approvePayout(ctx.db, {
          kind: "withdrawal",
          merchantId: request.merchantId,
          ref,
          authorize: approval.authorize(request.body.signature, "withdraw/detail", "withdrawal"),
        });
        return ok(present(withdrawal));
      },
    );

    app.post<{ Body: { withdrawOrderId?: string; merchantWithdrawId?: string; reason?: string } }>(
      "/withdraw/reject",
      {
        schema: {
          summary: "Reject a pending withdrawal",
          body: { type: "object", additionalProperties: false, properties: { ...ref, reason: { type: "string", maxLength: 256 } } },
          response: { 200: envelope(withdrawalSchema), ...errorResponses },
        },
      },
      async (request) =>
        ok(
          present(
            await rejectPayout(ctx.db, {
              kind: "withdrawal",
              merchantId: request.merchantId,
              ref: refOf(request.body),
              reason: request.body.reason ?? "rejected by the merchant",
            }),
          ),
        ),
    );

    app.post<{ Body: { withdrawOrderId?: string; merchantWithdrawId?: string } }>(
      "/withdraw/notify",
      {
        schema: {
          summary: "Queue the withdrawal's latest webhook again (same event id)",
          body: { type: "object", additionalProperties: false, properties: ref },
          response: {
            200: envelope({ type: "object", required: ["eventId"], properties: { eventId: { type: "string" } } }),
            ...errorResponses,
          },
        },
      },
      async (request) => ok({ eventId: await requeuePayoutNotification(ctx.db, "withdrawal", request.merchantId, refOf(request.body)) }),
    );
  };
}
