import type { FastifyInstance } from "fastify";
import { createUser, getUser, type UserRecord } from "../../store/users.js";
import { checksum, formatTime, type GatewayContext } from "../context.js";
import { envelope, errorResponses, idString } from "../schemas.js";

/** seed 001's user/detail shape */
const userSchema = {
  type: "object",
  required: ["userId", "uuid", "userType", "createTime", "userWallet"],
  properties: {
    userId: { type: "integer" },
    uuid: { type: "string" },
    userType: { type: "integer" },
    createTime: { type: "string" },
    userWallet: {
      type: "array",
      items: {
        type: "object",
        required: ["walletId", "chainId", "walletAddress"],
        properties: { walletId: { type: "integer" }, chainId: { type: "integer" }, walletAddress: { type: "string" } },
      },
    },
  },
};

export function userRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    const present = (u: UserRecord) => ({
      userId: Number(u.userId),
      uuid: u.uuid,
      userType: u.userType,
      createTime: formatTime(u.createdAt),
      userWallet: u.wallets.map((w) => ({ walletId: Number(w.walletId), chainId: w.chainId, walletAddress: checksum(w.address)! })),
    });
    const ok = (data: unknown) => ({ code: 200, msg: "success", data });

    app.post<{ Body: { uuid: string; userType?: number } }>(
      "/user/create",
      {
        schema: {
          summary: "Give a merchant user a fixed recharge address on every configured chain (idempotent by uuid)",
          body: {
            type: "object",
            additionalProperties: false,
            required: ["uuid"],
            properties: { uuid: idString, userType: { type: "integer", minimum: 1, maximum: 100 } },
          },
          response: { 200: envelope(userSchema), ...errorResponses },
        },
      },
      async (request) => {
        const { user } = await createUser(ctx.db, {
          merchantId: request.merchantId,
          uuid: request.body.uuid,
          userType: request.body.userType ?? 1,
          chains: ctx.chains,
        });
        return ok(present(user));
      },
    );

    app.get<{ Querystring: { userId?: string; uuid?: string } }>(
      "/user/detail",
      {
        schema: {
          summary: "A merchant user and its recharge addresses, by userId or uuid",
          querystring: {
            type: "object",
            additionalProperties: false,
            minProperties: 1,
            maxProperties: 1,
            properties: { userId: { type: "string", pattern: "^[1-9][0-9]{0,17}$" }, uuid: idString },
          },
          response: { 200: envelope(userSchema), ...errorResponses },
        },
      },
      async (request) => ok(present(await getUser(ctx.db, request.merchantId, request.query))),
    );
  };
}
