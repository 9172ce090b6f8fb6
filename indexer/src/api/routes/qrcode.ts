import { createHash, randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import QRCode from "qrcode";
import { createMerchantQr, type MerchantQrRecord } from "../../store/merchantQr.js";
import { canonicalDecimal, merchantAmount, units } from "../../wire/amounts.js";
import { formatTime } from "../../wire/presenters.js";
import { chainIdField, decimalField, envelope, errorResponses, httpUrl, intField } from "../../wire/schemas.js";
import { checksum, type GatewayContext } from "../context.js";
import { chainOf, intOf, ok } from "./common.js";

const qrSchema = {
  type: "object",
  required: ["code", "label", "url", "qrSvg"],
  properties: {
    code: { type: "string" },
    label: { type: "string" },
    chainId: { type: "integer", description: "EVM chain id" },
    chainCode: { type: "string" },
    currencyId: { type: "integer" },
    symbol: { type: "string" },
    decimals: { type: "integer" },
    tokenAddress: { type: "string" },
    maxAmount: { type: ["string", "null"], description: "largest amount a payer may type, in the token's smallest unit" },
    notifyUrl: { type: "string" },
    redirectionUrl: { type: ["string", "null"] },
    url: { type: "string", description: "the permanent payment link <payPageUrl>/m/<code>" },
    qrSvg: { type: "string", description: "SVG QR code of url" },
    createTime: { type: "string" },
  },
};

/**
 * Static merchant QR codes (seed 004's qrcode.create; the gateway's addition): a permanent link for a
 * counter where the payer types the amount. Each payment through it is an ordinary payment order
 * (outTradeNo `qr:<code>:<ref>`) with its own callbacks to the code's notifyUrl.
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
      currencyId: ctx.wire.currencyOf(q.chainId, q.tokenAddress)?.currencyId ?? 0,
      symbol: q.tokenSymbol,
      decimals: q.tokenDecimals,
      tokenAddress: checksum(q.tokenAddress)!,
      maxAmount: q.maxAmount === null ? null : units(q.maxAmount),
      notifyUrl: q.notifyUrl,
      redirectionUrl: q.redirectionUrl,
      url,
      qrSvg: await QRCode.toString(url, { type: "svg", errorCorrectionLevel: "M", margin: 2 }),
      createTime: formatTime(q.createdAt),
    };
  };

  return async function (app: FastifyInstance) {
    app.post<{
      Body: {
        label: string;
        chainId: number | string;
        currencyId: number | string;
        notifyUrl: string;
        redirectionUrl?: string;
        maxAmount?: string | number;
      };
    }>(
      "/qrcode/create",
      {
        config: { idempotentBy: ["label"] },
        schema: {
          summary:
            "Addition: a static merchant QR code, a permanent payment link where the payer types the amount (the same label again answers the same code)",
          tags: ["qrcode"],
          operationId: "qrcodeCreate",
          body: {
            type: "object",
            additionalProperties: false,
            required: ["label", "chainId", "currencyId", "notifyUrl"],
            properties: {
              label: { type: "string", minLength: 1, maxLength: 80, description: "the counter's name, unique per merchant" },
              chainId: chainIdField,
              currencyId: intField("the currency payers pay in (conf/list/currency)"),
              notifyUrl: httpUrl,
              redirectionUrl: httpUrl,
              maxAmount: decimalField("largest amount a payer may type, in the currency's units"),
            },
          },
          response: { 200: envelope(qrSchema), ...errorResponses },
        },
      },
      async (request) => {
        const b = request.body;
        const chain = chainOf(ctx, b.chainId);
        const token = ctx.currency(chain, intOf(b.currencyId, "currencyId"));
        const maxAmount =
          b.maxAmount === undefined
            ? null
            : merchantAmount(b.maxAmount, { field: "maxAmount", decimals: token.decimals, symbol: token.symbol });
        const requestHash = createHash("sha256")
          .update(
            JSON.stringify([
              chain.chainId,
              token.address.toLowerCase(),
              b.notifyUrl,
              b.redirectionUrl ?? null,
              b.maxAmount === undefined ? null : canonicalDecimal(b.maxAmount, "maxAmount"),
            ]),
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
        return ok(await present(qr));
      },
    );
  };
}
