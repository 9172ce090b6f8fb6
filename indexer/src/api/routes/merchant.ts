import type { FastifyInstance } from "fastify";
import { getMerchantSettings, rotateWebhookSecret, updateMerchantSettings, type MerchantSettings } from "../../store/merchants.js";
import { checksum, formatTime, type GatewayContext } from "../context.js";
import { envelope, errorResponses, httpUrl, nullableString } from "../schemas.js";

const settingsSchema = {
  type: "object",
  required: ["merchantId", "name", "feeBps", "payoutSigner", "payoutKeyMode", "rechargeNotifyUrl", "webhookSecretHint"],
  properties: {
    merchantId: { type: "string", description: "the on-chain merchant id" },
    name: { type: "string" },
    feeBps: { type: "integer", description: "platform fee in basis points (set by the operator)" },
    payoutSigner: { ...nullableString, description: "the address registered in the vault that signs this merchant's payouts" },
    payoutKeyMode: {
      type: "string",
      enum: ["merchant", "gateway"],
      description: "merchant: approvals carry the merchant's EIP-712 signature; gateway: the gateway holds the payout key and signs",
    },
    gatewayKeyPresent: { type: "boolean", description: "gateway mode: whether the gateway holds the key" },
    rechargeNotifyUrl: nullableString,
    webhookSecretHint: { type: "string", description: "whsec_… and the last 4 characters of the webhook secret (never the secret)" },
    createTime: { type: "string" },
  },
};

/** The merchant's own settings: read, the fields it may change, and webhook secret rotation. */
export function merchantRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    const present = (m: MerchantSettings) => ({
      merchantId: m.merchantId.toString(),
      name: m.name,
      feeBps: m.feeBps,
      payoutSigner: checksum(m.payoutSigner),
      payoutKeyMode: m.payoutKeyMode,
      gatewayKeyPresent: m.gatewayKeyPresent,
      rechargeNotifyUrl: m.rechargeNotifyUrl,
      webhookSecretHint: m.webhookSecretHint,
      createTime: formatTime(m.createdAt),
    });
    const ok = (data: unknown) => ({ code: 200, msg: "success", data });

    app.get(
      "/merchant/settings",
      {
        schema: {
          summary: "The merchant's settings: name, fee, payout signer and key mode, recharge callback URL, webhook secret hint",
          querystring: { type: "object", additionalProperties: false, properties: {} },
          response: { 200: envelope(settingsSchema), ...errorResponses },
        },
      },
      async (request) => ok(present(await getMerchantSettings(ctx.db, ctx.box, request.merchantId))),
    );

    app.post<{ Body: { name?: string; rechargeNotifyUrl?: string | null } }>(
      "/merchant/settings/update",
      {
        schema: {
          summary: "Change the merchant's name or recharge callback URL (null clears it); fee, signer and key mode stay with the operator",
          body: {
            type: "object",
            additionalProperties: false,
            minProperties: 1,
            properties: {
              name: { type: "string", minLength: 1, maxLength: 128, pattern: "\\S" },
              rechargeNotifyUrl: { ...httpUrl, type: ["string", "null"] },
            },
          },
          response: { 200: envelope(settingsSchema), ...errorResponses },
        },
      },
      async (request) => ok(present(await updateMerchantSettings(ctx.db, ctx.box, request.merchantId, request.body))),
    );

    app.post(
      "/merchant/webhookSecret/rotate",
      {
        schema: {
          summary: "Replace the webhook secret; the new whsec_… is shown once, here (webhooks signed from now on use it)",
          body: { type: "object", additionalProperties: false, properties: {} },
          response: {
            200: envelope({ type: "object", required: ["webhookSecret"], properties: { webhookSecret: { type: "string" } } }),
            ...errorResponses,
          },
        },
      },
      async (request) => ok({ webhookSecret: await rotateWebhookSecret(ctx.db, ctx.box, request.merchantId) }),
    );
  };
}
