import type { FastifyInstance } from "fastify";
import { formatAmount } from "../../domain/money.js";
import {
  getRechargeOrder,
  listRechargeOrders,
  requeueRechargeNotification,
  type RechargeOrderRecord,
} from "../../store/rechargeOrders.js";
import { checksum, formatTime, type GatewayContext } from "../context.js";
import { envelope, errorResponses, idString } from "../schemas.js";

const rechargeSchema = {
  type: "object",
  required: ["rechargeOrderId", "userId", "uuid", "state", "chainId", "amount", "txHash"],
  properties: {
    rechargeOrderId: { type: "string" },
    userId: { type: "integer" },
    uuid: { type: "string" },
    state: { type: "integer", description: "2 awaiting confirmation, 3 confirming, 4 success, -1 dropped (reorg)" },
    chainId: { type: "integer" },
    token: { type: "string" },
    tokenSymbol: { type: "string" },
    amount: { type: "string" },
    amountBaseUnits: { type: "string" },
    fromAddress: { type: "string" },
    toAddress: { type: "string" },
    txHash: { type: "string" },
    logIndex: { type: "integer" },
    blockNumber: { type: "string" },
    createTime: { type: "string" },
  },
};
const digits = (max: number) => ({ type: "string", pattern: `^(0|[1-9][0-9]{0,${max}})$` });

export function rechargeRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    const present = (r: RechargeOrderRecord) => {
      const chain = ctx.chains.find((c) => c.chainId === r.chainId);
      const token = chain?.tokens.find((t) => t.address.toLowerCase() === r.tokenAddress);
      return {
        rechargeOrderId: r.id,
        userId: Number(r.userId),
        uuid: r.uuid,
        state: r.status,
        chainId: r.chainId,
        token: checksum(r.tokenAddress)!,
        tokenSymbol: token?.symbol ?? "",
        // a token no longer configured is shown in base units
        amount: token ? formatAmount(r.amount, token.decimals) : r.amount.toString(),
        amountBaseUnits: r.amount.toString(),
        fromAddress: checksum(r.fromAddress)!,
        toAddress: checksum(r.toAddress)!,
        txHash: r.txHash,
        logIndex: r.logIndex,
        blockNumber: r.blockNumber.toString(),
        createTime: formatTime(r.createdAt),
      };
    };
    const ok = (data: unknown) => ({ code: 200, msg: "success", data });

    app.get<{
      Querystring: { cursor?: string; limit?: string; userId?: string; uuid?: string; chainId?: string; state?: string; token?: string };
    }>(
      "/recharge/list",
      {
        schema: {
          summary: "A merchant's recharge orders, newest first, with cursor pagination and filters",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: {
              cursor: idString,
              limit: { type: "string", pattern: "^([1-9]|[1-9][0-9]|100)$", description: "1..100, default 20" },
              userId: digits(17),
              uuid: idString,
              chainId: digits(15),
              state: { type: "string", enum: ["2", "3", "4", "-1"] },
              token: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
            },
          },
          response: {
            200: envelope({
              type: "object",
              required: ["list", "nextCursor"],
              properties: { list: { type: "array", items: rechargeSchema }, nextCursor: { type: ["string", "null"] } },
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const q = request.query;
        const page = await listRechargeOrders(ctx.db, request.merchantId, {
          filter: {
            userId: q.userId,
            uuid: q.uuid,
            chainId: q.chainId === undefined ? undefined : Number(q.chainId),
            status: q.state === undefined ? undefined : Number(q.state),
            tokenAddress: q.token,
          },
          cursor: q.cursor,
          limit: q.limit ? Number(q.limit) : 20,
        });
        return ok({ list: page.list.map(present), nextCursor: page.nextCursor });
      },
    );

    app.get<{ Querystring: { rechargeOrderId: string } }>(
      "/recharge/detail",
      {
        schema: {
          summary: "A recharge order",
          querystring: { type: "object", additionalProperties: false, required: ["rechargeOrderId"], properties: { rechargeOrderId: idString } },
          response: { 200: envelope(rechargeSchema), ...errorResponses },
        },
      },
      async (request) => ok(present(await getRechargeOrder(ctx.db, request.merchantId, request.query.rechargeOrderId))),
    );

    app.post<{ Body: { rechargeOrderId: string } }>(
      "/recharge/notify",
      {
        schema: {
          summary: "Queue the recharge's latest webhook again (same event id)",
          body: { type: "object", additionalProperties: false, required: ["rechargeOrderId"], properties: { rechargeOrderId: idString } },
          response: {
            200: envelope({ type: "object", required: ["eventId"], properties: { eventId: { type: "string" } } }),
            ...errorResponses,
          },
        },
      },
      async (request) => ok({ eventId: await requeueRechargeNotification(ctx.db, request.merchantId, request.body.rechargeOrderId) }),
    );
  };
}
