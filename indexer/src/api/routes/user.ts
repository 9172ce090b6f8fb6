import type { FastifyInstance } from "fastify";
import { createUser, getUser } from "../../store/users.js";
import { ApiError, ErrorCode } from "../../wire/errors.js";
import { presentUser } from "../../wire/presenters.js";
import { envelope, errorResponses, keyField, qInt, qKey, ref } from "../../wire/schemas.js";
import type { GatewayContext } from "../context.js";
import { ok } from "./common.js";
import { uuidOf } from "./recharge.js";

/** Users (reference 3.13, 3.14): a merchant's user with a fixed recharge address on every configured chain. */
export function userRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    app.post<{ Body: { uuid?: string; UUID?: string } }>(
      "/user/create",
      {
        config: { idempotentBy: ["uuid", "UUID"] },
        schema: {
          summary:
            "Give a user (the merchant's uuid) a fixed recharge address on every configured chain; answers the userId. Idempotent by uuid",
          tags: ["user"],
          operationId: "userCreate",
          body: {
            type: "object",
            additionalProperties: false,
            properties: { uuid: keyField("the merchant's user id"), UUID: keyField("the same (either spelling)") },
          },
          response: { 200: envelope({ type: "integer", description: "userId" }), ...errorResponses },
        },
      },
      async (request) => {
        const uuid = uuidOf(request.body);
        if (uuid === undefined) throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: body must have required property 'uuid'");
        const { user } = await createUser(ctx.db, { merchantId: request.merchantId, uuid, chains: ctx.chains });
        return ok(Number(user.userId));
      },
    );

    app.get<{ Querystring: { userId?: string; UUID?: string; uuid?: string; chainId?: string } }>(
      "/user/detail",
      {
        schema: {
          summary: "A user and its recharge addresses, by userId and/or UUID (or uuid); chainId keeps one chain's wallet",
          tags: ["user"],
          operationId: "userDetail",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: {
              userId: qInt("the user's number"),
              UUID: qKey("the merchant's user id"),
              uuid: qKey("the same (either spelling)"),
              chainId: qInt("EVM chain id", 15),
            },
          },
          response: { 200: envelope(ref("User")), ...errorResponses },
        },
      },
      async (request) => {
        const q = request.query;
        const uuid = uuidOf(q);
        if (q.userId === undefined && uuid === undefined)
          throw new ApiError(ErrorCode.InvalidRequest, "Invalid request: give userId or UUID (or both)");
        const chainId = q.chainId === undefined ? undefined : ctx.chain(Number(q.chainId)).chainId;
        return ok(presentUser(await getUser(ctx.db, request.merchantId, { userId: q.userId, uuid }), chainId));
      },
    );
  };
}
