import type { FastifyInstance } from "fastify";
import { getRechargeOrder, listRechargeOrders, requeueRechargeNotification } from "../../store/rechargeOrders.js";
import { presentPage, presentRecharge } from "../../wire/presenters.js";
import { envelope, errorResponses, listQuery, pageOf as pageSchema, qInt, qKey, ref } from "../../wire/schemas.js";
import { PayRechargeStatus, RECHARGE_STATUS, statesOf } from "../../wire/status.js";
import type { GatewayContext } from "../context.js";
import { ApiError, ErrorCode } from "../../wire/errors.js";
import { intOf, notifyRoute, ok, pageOf, statusCodeOf, timeRangeOf, txHashOf } from "./common.js";

const STATUS_TEXT = "0 success, 1 recharging (awaiting confirmations), 2 failure";
const STATUS_CODES = Object.values(PayRechargeStatus);
const uuidProps = {
  UUID: qKey("the merchant's user id (spelled so in the reference)"),
  uuid: qKey("the same, lower case (the quick start's spelling)"),
};

/** The user's uuid from `UUID` or `uuid` (Pay Protocol's pages spell it both ways); both must agree. */
export function uuidOf(q: { UUID?: string; uuid?: string }): string | undefined {
  if (q.UUID !== undefined && q.uuid !== undefined && q.UUID !== q.uuid) {
    throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: UUID and uuid differ: send one");
  }
  return q.UUID ?? q.uuid;
}

/** Recharges (reference 3.15, 3.16): orders the chain follower writes for deposits to users' recharge addresses. */
export function rechargeRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    app.get<{ Querystring: Record<string, string | undefined> }>(
      "/recharge/list",
      {
        schema: {
          summary: "The merchant's recharges, newest first, a page at a time; UUID (or uuid) filters one user",
          tags: ["recharge"],
          operationId: "rechargeList",
          querystring: listQuery(`rechargeStatus: ${STATUS_TEXT}`, { ...uuidProps, userId: qInt("addition: the user's number") }),
          response: { 200: envelope(pageSchema("Recharge")), ...errorResponses },
        },
      },
      async (request) => {
        const q = request.query;
        const page = pageOf(q);
        const code = statusCodeOf(q, STATUS_CODES, STATUS_TEXT);
        const { count, list } = await listRechargeOrders(
          ctx.db,
          request.merchantId,
          {
            chainId: q.chainId === undefined ? undefined : Number(q.chainId),
            uuid: uuidOf(q),
            userId: q.userId === undefined ? undefined : BigInt(q.userId),
            statuses: code === undefined ? undefined : statesOf(RECHARGE_STATUS, code as PayRechargeStatus),
            txHash: txHashOf(q.transactionHash),
            ...timeRangeOf(q),
          },
          page,
        );
        return ok(
          presentPage(
            count,
            page.page,
            page.size,
            list.map((r) => presentRecharge(ctx.wire, r)),
          ),
        );
      },
    );

    app.get<{ Querystring: { rechargeId: string } }>(
      "/recharge/detail",
      {
        schema: {
          summary: "A recharge: the object its callback carries",
          tags: ["recharge"],
          operationId: "rechargeDetail",
          querystring: {
            type: "object",
            additionalProperties: false,
            required: ["rechargeId"],
            properties: { rechargeId: qInt("the recharge's number") },
          },
          response: { 200: envelope(ref("Recharge")), ...errorResponses },
        },
      },
      async (request) =>
        ok(presentRecharge(ctx.wire, await getRechargeOrder(ctx.db, request.merchantId, BigInt(request.query.rechargeId)))),
    );

    notifyRoute<{ rechargeId?: string }>(
      app,
      "recharge/notify",
      "Send the recharge's callback once more (its latest event, under its event id), to the recharge callback URL",
      { properties: { rechargeId: qInt("the recharge's number") }, required: ["rechargeId"] },
      (request, r) => requeueRechargeNotification(ctx.db, request.merchantId, BigInt(intOf(r.rechargeId, "rechargeId"))),
    );
  };
}
