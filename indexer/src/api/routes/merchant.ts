import type { FastifyInstance } from "fastify";
import { getMerchantSettings, rotateWebhookSecret, updateMerchantSettings, type MerchantSettings } from "../../store/merchants.js";
import { MAX_TOLERANCE_BPS } from "../../pricing/tolerance.js";
import { getUnderpaymentTolerance, setUnderpaymentTolerance } from "../../store/quotes.js";
import { formatTime } from "../../wire/presenters.js";
import { envelope, errorResponses, httpUrl } from "../../wire/schemas.js";
import { checksum, type GatewayContext } from "../context.js";
import { ok } from "./common.js";

const nullableString = (description: string) => ({ type: ["string", "null"], description });
const settingsSchema = {
  type: "object",
  required: ["orgId", "name", "feeBps", "payoutSigner", "payoutKeyMode", "rechargeNotifyUrl", "callbackAllEvents", "webhookSecretHint"],
  properties: {
    orgId: { type: "integer", description: "the merchant's id (orgId in payment objects; the on-chain merchant id)" },
    name: { type: "string", description: "shown to payers (payInfo's orgName)" },
    feeBps: { type: "integer", description: "platform fee in basis points (set by the operator)" },
    payoutSigner: nullableString("the address registered in the vault that signs this merchant's payouts"),
    payoutKeyMode: {
      type: "string",
      enum: ["merchant", "gateway"],
      description: "merchant: approvals carry the merchant's EIP-712 signatures; gateway: the gateway holds the payout key and signs",
    },
    gatewayKeyPresent: { type: "boolean", description: "gateway mode: whether the gateway holds the key" },
    rechargeNotifyUrl: nullableString("where recharge callbacks go (and withdrawal and settlement callbacks without their own notifyUrl)"),
    callbackAllEvents: {
      type: "boolean",
      description:
        "false (default): callbacks on the status changes Pay Protocol calls back on (payment: paid, partially paid, failed; refund and withdrawal: success, failure, rejected; recharge: success, failure). true: on every status change and transfer event too",
    },
    webhookSecretHint: {
      type: "string",
      description: "whsec_… and the last 4 characters of the Standard Webhooks secret (never the secret)",
    },
    underpaymentToleranceBps: {
      type: "integer",
      description:
        "how much less than expectedAmount still counts as paid, in basis points (0..1000; 0 default: the whole amount). Orders take the value in force when they are created",
    },
    createTime: { type: "string" },
  },
};

/** The merchant's own settings (the gateway's addition): read, the fields it may change, and webhook secret rotation. */
export function merchantRoutes(ctx: GatewayContext) {
  return async function (app: FastifyInstance) {
    const present = async (m: MerchantSettings) => ({
      orgId: Number(m.merchantId),
      name: m.name,
      feeBps: m.feeBps,
      payoutSigner: checksum(m.payoutSigner),
      payoutKeyMode: m.payoutKeyMode,
      gatewayKeyPresent: m.gatewayKeyPresent,
      rechargeNotifyUrl: m.rechargeNotifyUrl,
      callbackAllEvents: m.callbackAllEvents,
      webhookSecretHint: m.webhookSecretHint,
      underpaymentToleranceBps: await getUnderpaymentTolerance(ctx.db, m.merchantId),
      createTime: formatTime(m.createdAt),
    });

    app.get(
      "/merchant/settings",
      {
        schema: {
          summary: "Addition: the merchant's settings: name, fee, payout signer and key mode, callback URL and events, webhook secret hint",
          tags: ["merchant"],
          operationId: "merchantSettings",
          querystring: { type: "object", additionalProperties: false, properties: {} },
          response: { 200: envelope(settingsSchema), ...errorResponses },
        },
      },
      async (request) => ok(await present(await getMerchantSettings(ctx.db, ctx.box, request.merchantId))),
    );

    app.post<{
      Body: { name?: string; rechargeNotifyUrl?: string | null; callbackAllEvents?: boolean; underpaymentToleranceBps?: number };
    }>(
      "/merchant/settings/update",
      {
        schema: {
          summary:
            "Addition: change the name, the recharge callback URL (null clears it; callbacks waiting for it are sent at once), callbackAllEvents or underpaymentToleranceBps (orders created from now on); fee, signer and key mode stay with the operator",
          tags: ["merchant"],
          operationId: "merchantSettingsUpdate",
          body: {
            type: "object",
            additionalProperties: false,
            minProperties: 1,
            properties: {
              name: { type: "string", minLength: 1, maxLength: 128, pattern: "\\S" },
              rechargeNotifyUrl: { ...httpUrl, type: ["string", "null"] },
              callbackAllEvents: { type: "boolean" },
              underpaymentToleranceBps: { type: "integer", minimum: 0, maximum: MAX_TOLERANCE_BPS, description: "0..1000 basis points" },
            },
          },
          response: { 200: envelope(settingsSchema), ...errorResponses },
        },
      },
      async (request) => {
        const { underpaymentToleranceBps, ...rest } = request.body;
        return ok(
          await present(
            await ctx.db.transaction(async (tx) => {
              if (underpaymentToleranceBps !== undefined) await setUnderpaymentTolerance(tx, request.merchantId, underpaymentToleranceBps);
              return updateMerchantSettings(tx, ctx.box, request.merchantId, rest);
            }),
          ),
        );
      },
    );

    app.post(
      "/merchant/webhookSecret/rotate",
      {
        schema: {
          summary:
            "Addition: replace the Standard Webhooks secret; the new whsec_… is shown once, here (callbacks signed from now on use it)",
          tags: ["merchant"],
          operationId: "merchantWebhookSecretRotate",
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
