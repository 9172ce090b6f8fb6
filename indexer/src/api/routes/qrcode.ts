import { createHash, randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { formatAmount, parseAmount } from "../../domain/money.js";
import { createMerchantQr, type MerchantQrRecord } from "../../store/merchantQr.js";
import QRCode from "qrcode";
import { checksum, formatTime, type GatewayContext } from "../context.js";
import { ApiError, ErrorCode } from "../errors.js";
import { envelope, errorResponses, httpUrl, humanAmount, nullableString } from "../schemas.js";

const qrSchema = {
  type: "object",
  required: ["code", "label", "url", "qrSvg"],
  properties: {
    code: { type: "string" },
    label: { type: "string" },
    chainId: { type: "integer" },
    chainCode: { type: "string" },
    token: { type: "string" },
    tokenSymbol: { type: "string" },
    decimals: { type: "integer" },
    maxAmount: nullableString,
    notifyUrl: { type: "string" },
    redirectionUrl: nullableString,
    url: { type: "string", description: "the permanent payment link <payPageUrl>/m/<code>" },
    qrSvg: { type: "string", description: "SVG QR code of url" },
    createTime: { type: "string" },
  },
};

/**
 * Static merchant QR codes (seed 004's qrcode.create): a permanent link for a counter where the payer
 * types the amount. Each payment through it is an ordinary payment order (merchantOrderId
 * `qr:<code>:<ref>`) with its own webhooks to the code's notifyUrl.
 */
export function qrcodeRoutes(ctx: GatewayContext) {
  const linkOf = (code: string) => `${ctx.config.payPageUrl.replace(/\/+$/, "")}/m/${code}`;
  const present = async (q: MerchantQrRecord) => {
    const url = linkOf(q.code);
    return {
      code: q.code,
      label: q.label,
      chainId: q.chainId,
      chainCode: ctx.chain(q.chainId).code,
      token: checksum(q.tokenAddress)!,
      tokenSymbol: q.tokenSymbol,
      decimals: q.tokenDecimals,
      maxAmount: q.maxAmount === null ? null : formatAmount(q.maxAmount, q.tokenDecimals),
      notifyUrl: q.notifyUrl,
      redirectionUrl: q.redirectionUrl,
      url,
      qrSvg: await QRCode.toString(url, { type: "svg", errorCorrectionLevel: "M", margin: 2 }),
      createTime: formatTime(q.createdAt),
    };
  };

  return async function (app: FastifyInstance) {
    app.post<{ Body: { label: string; chainId: number; token: string; notifyUrl: string; redirectionUrl?: string; maxAmount?: string } }>(
      "/qrcode/create",
      {
        schema: {
          summary: "Create a static merchant QR code: a permanent payment link where the payer types the amount",
          body: {
            type: "object",
            additionalProperties: false,
            required: ["label", "chainId", "token", "notifyUrl"],
            properties: {
              label: {
                type: "string",
                minLength: 1,
                maxLength: 80,
                description: "the counter's name, unique per merchant; repeating a create returns the same code",
              },
              chainId: { type: "integer", minimum: 1 },
              token: { type: "string", minLength: 1, maxLength: 42, description: "symbol or token address; 0x000…0 = native coin" },
              notifyUrl: httpUrl,
              redirectionUrl: httpUrl,
              maxAmount: { ...humanAmount, description: "largest amount a payer may type (human units)" },
            },
          },
          response: { 200: envelope(qrSchema), ...errorResponses },
        },
      },
      async (request) => {
        const b = request.body;
        const chain = ctx.chain(b.chainId);
        const token = ctx.token(chain, b.token);
        const maxAmount = b.maxAmount === undefined ? null : parseAmount(b.maxAmount, token.decimals);
        if (maxAmount === 0n) throw new ApiError(ErrorCode.InvalidAmount, "maxAmount must be greater than zero");
        const requestHash = createHash("sha256")
          .update(
            JSON.stringify([b.chainId, token.address.toLowerCase(), b.notifyUrl, b.redirectionUrl ?? null, maxAmount?.toString() ?? null])
          )
          .digest("hex");
        const { qr } = await createMerchantQr(ctx.db, {
          code: randomBytes(16).toString("base64url"),
          merchantId: request.merchantId,
          label: b.label,
          chainId: chain.chainId,
          tokenAddress: token.address,
          tokenSymbol: token.symbol,
          tokenDecimals: token.decimals,
          notifyUrl: b.notifyUrl,
          redirectionUrl: b.redirectionUrl ?? null,
          maxAmount,
          requestHash,
        });
        return { code: 200, msg: "success", data: await present(qr) };
      }
    );
  };
}
