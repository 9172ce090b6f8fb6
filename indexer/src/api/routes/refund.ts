import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { recoverTypedDataAddress, type Address, type Hex } from "viem";
import { formatAmount, parseAmount } from "../../domain/money.js";
import { PayoutStatus } from "../../domain/orderStateMachine.js";
import { PayoutKind, payoutTypedData } from "../../domain/payoutTypedData.js";
import { getPaymentOrder, type PaymentOrderRecord } from "../../store/paymentOrders.js";
import {
  applyRefundEvent,
  createRefundOrder,
  getRefundOrder,
  requeueRefundNotification,
  type RefundOrderRecord,
} from "../../store/refundOrders.js";
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
    const typedData = (r: RefundOrderRecord, o: PaymentOrderRecord) => {
      const chain = ctx.chain(o.chainId);
      return payoutTypedData({
        chainId: chain.chainId,
        vault: chain.vault,
        payout: {
          merchantId: r.merchantId,
          kind: PayoutKind.Refund,
          token: checksum(o.tokenAddress) as Address,
          to: checksum(r.toAddress) as Address,
          amount: r.amount,
          payoutId: r.payoutId,
          deadline: BigInt(Math.floor(r.payoutDeadline.getTime() / 1000)),
        },
      });
    };
    const jsonSafe = (v: unknown) => JSON.parse(JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x)));
    const present = (r: RefundOrderRecord, o: PaymentOrderRecord) => ({
      ...presentBase(r, o.merchantOrderId, o.tokenDecimals),
      payoutDeadline: Math.floor(r.payoutDeadline.getTime() / 1000),
      ...(r.status === PayoutStatus.PendingApproval ? { payoutTypedData: jsonSafe(typedData(r, o)) } : {}),
    });
    const presentBase = (r: RefundOrderRecord, merchantOrderId: string, decimals: number) => ({
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
          payoutDeadlineSeconds: ctx.config.payoutDeadlineSeconds,
        });
        const order = await getPaymentOrder(ctx.db, request.merchantId, { payOrderId: refund.payOrderId });
        return ok(present(refund, order));
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
        return ok(present(refund, order));
      },
    );

    const refOf = (b: { refundOrderId?: string; merchantRefundId?: string }) => {
      if ((b.refundOrderId === undefined) === (b.merchantRefundId === undefined)) {
        throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: give exactly one of refundOrderId and merchantRefundId");
      }
      return b.refundOrderId ? { refundOrderId: b.refundOrderId } : { merchantRefundId: b.merchantRefundId };
    };

    app.post<{ Body: { refundOrderId?: string; merchantRefundId?: string; signature: string } }>(
      "/refund/approve",
      {
        schema: {
          summary: "Approve a pending refund with the payout signer's EIP-712 signature over payoutTypedData",
          body: oneRefundRef({ signature: { type: "string", pattern: "^0x[0-9a-fA-F]{130}$" } }, ["signature"]),
          response: { 200: envelope(refundSchema), ...errorResponses },
        },
      },
      async (request) => {
        const refund = await applyRefundEvent(ctx.db, {
          merchantId: request.merchantId,
          ref: refOf(request.body),
          event: { type: "approve" },
          async check({ refund, payment, merchant }) {
            if (!merchant.payoutSigner) {
              throw new ApiError(ErrorCode.PayoutSignerMissing, "The merchant has no payout signer: register one (createMerchant --signer) before approving payouts");
            }
            if (refund.payoutDeadline.getTime() <= Date.now()) {
              throw new ApiError(ErrorCode.IllegalState, "The refund's payout deadline has passed: reject it and create a new refund");
            }
            const signature = request.body.signature as Hex;
            const signer = await recoverTypedDataAddress({ ...typedData(refund, payment), signature }).catch(() => null);
            if (signer?.toLowerCase() !== merchant.payoutSigner.toLowerCase()) {
              throw new ApiError(
                ErrorCode.InvalidPayoutSignature,
                `The signature recovers to ${signer ?? "nothing"}, not the payout signer ${checksum(merchant.payoutSigner)}: sign payoutTypedData from refund/detail with that key`,
              );
            }
            return { signature };
          },
        });
        const order = await getPaymentOrder(ctx.db, request.merchantId, { payOrderId: refund.payOrderId });
        return ok(present(refund, order));
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
        const refund = await applyRefundEvent(ctx.db, {
          merchantId: request.merchantId,
          ref: refOf(request.body),
          event: { type: "reject", reason: request.body.reason ?? "rejected by the merchant" },
        });
        const order = await getPaymentOrder(ctx.db, request.merchantId, { payOrderId: refund.payOrderId });
        return ok(present(refund, order));
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
      async (request) => ok({ eventId: await requeueRefundNotification(ctx.db, request.merchantId, refOf(request.body)) }),
    );
  };
}
