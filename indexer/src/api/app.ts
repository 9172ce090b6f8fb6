import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { GatewayConfig } from "../config.js";
import type { Db } from "../store/db.js";
import { checkNotifyUrl, WebhookTargetRefusedError } from "../notify/urlGuard.js";
import { purgeNonces } from "../store/nonces.js";
import { payPageRoutes } from "../web/payPageRoutes.js";
import { createRequestAuthenticator } from "./auth.js";
import { createGatewayContext } from "./context.js";
import { ApiError, ErrorCode, toApiError } from "./errors.js";
import { createOpenApiCollector } from "./openapi.js";
import { createRateLimiter } from "./rateLimit.js";
import { billRoutes } from "./routes/bill.js";
import { merchantRoutes } from "./routes/merchant.js";
import { paymentRoutes } from "./routes/payment.js";
import { qrcodeRoutes } from "./routes/qrcode.js";
import { rechargeRoutes } from "./routes/recharge.js";
import { refundRoutes } from "./routes/refund.js";
import { settlementRoutes } from "./routes/settlement.js";
import { userRoutes } from "./routes/user.js";
import { webhookRoutes } from "./routes/webhook.js";
import { withdrawRoutes } from "./routes/withdraw.js";

declare module "fastify" {
  interface FastifyRequest {
    /** set by the auth hook on every /api/mer/ route */
    merchantId: bigint;
    rawBody?: string;
  }
  interface FastifySchema {
    /** one line for the OpenAPI document */
    summary?: string;
  }
}

export type BuildAppParameters = {
  db: Db;
  config: GatewayConfig;
  logger?: FastifyServerOptions["logger"] | FastifyBaseLogger;
  /** the full service's health (store, followers); default: always ok */
  health?: () => Promise<{ ok: boolean }>;
  /** Prometheus text for `GET /metrics`; without it the route is absent */
  metrics?: () => Promise<string>;
};

/**
 * The merchant API as a Fastify instance, not listening: the caller (server.ts or a test) listens.
 * Every /api/mer/ route is signed (see auth.ts), validated by its JSON Schema and answers in the
 * envelope `{ code, msg, data }`.
 */
export async function buildApp({ db, config, logger = false, health, metrics }: BuildAppParameters): Promise<FastifyInstance> {
  const isInstance = typeof logger === "object" && logger !== null && typeof (logger as FastifyBaseLogger).child === "function";
  const app = Fastify({
    // Fastify 5 takes a ready pino instance as `loggerInstance`, options as `logger`
    ...(isInstance ? { loggerInstance: logger as FastifyBaseLogger } : { logger: logger as FastifyServerOptions["logger"] }),
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  const ctx = createGatewayContext(db, config);
  const authenticate = createRequestAuthenticator({
    db,
    box: ctx.box,
    windowMs: config.authWindowMs,
    rateLimiter: createRateLimiter({ ratePerSecond: config.rateLimitPerSecond }),
  });

  // keep the body text exactly as sent: it is part of the signed string
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new ApiError(ErrorCode.InvalidJson, "The body is not valid JSON"), undefined);
    }
  });
  app.decorateRequest("merchantId", 0n);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let e: ApiError;
    if (error.validation) {
      const where = `${error.validationContext ?? "body"}${error.validation[0]?.instancePath ?? ""}`;
      e = new ApiError(ErrorCode.InvalidRequest, `Invalid request: ${where} ${error.validation[0]?.message ?? error.message}`);
    } else if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      e = new ApiError(ErrorCode.PayloadTooLarge, "The body is larger than 64 KiB");
    } else if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" || error.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
      e = new ApiError(ErrorCode.InvalidRequest, "Send the body as JSON with Content-Type: application/json");
    } else {
      e = toApiError(error);
    }
    if (e.statusCode >= 500) request.log.error({ err: error, code: e.code }, "request failed");
    reply.status(e.statusCode).send({ code: e.code, msg: e.shortMessage, data: null });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ code: ErrorCode.RouteNotFound, msg: `No route ${request.method} ${request.url.split("?")[0]}`, data: null });
  });

  const openapi = createOpenApiCollector();
  app.addHook("onRoute", openapi.onRoute);

  await app.register(
    async (mer) => {
      mer.addHook("preValidation", async (request) => {
        const { merchantId } = await authenticate(request);
        request.merchantId = merchantId;
      });
      // a notify URL aimed at the gateway's own network is refused when it is given, not only at delivery
      mer.addHook("preHandler", async (request) => refuseUnsafeNotifyUrls(request.body, config.allowPrivateWebhookTargets ?? false));
      await mer.register(paymentRoutes(ctx));
      await mer.register(refundRoutes(ctx));
      await mer.register(rechargeRoutes(ctx));
      await mer.register(userRoutes(ctx));
      await mer.register(withdrawRoutes(ctx));
      await mer.register(settlementRoutes(ctx));
      await mer.register(merchantRoutes(ctx));
      await mer.register(webhookRoutes(ctx));
      await mer.register(qrcodeRoutes(ctx));
      await mer.register(billRoutes(ctx));
    },
    { prefix: "/api/mer" },
  );

  // the hosted payment page and the static merchant QR pages (public, at the path of config.payPageUrl)
  await app.register(payPageRoutes(ctx));

  app.get("/api/openapi.json", { schema: { summary: "This document", response: { 200: { type: "object", additionalProperties: true } } } }, async () =>
    openapi.document(),
  );
  app.get(
    "/health",
    { schema: { summary: "Liveness and, in the full service, each part's health", response: { 200: { type: "object", additionalProperties: true }, 503: { type: "object", additionalProperties: true } } } },
    async (_request, reply) => {
      const h = health ? await health() : { ok: true };
      return reply.status(h.ok ? 200 : 503).send(h);
    },
  );
  if (metrics) {
    app.get("/metrics", { schema: { summary: "Prometheus metrics" } }, async (_request, reply) =>
      reply.type("text/plain; version=0.0.4").send(await metrics()),
    );
  }

  const purge = setInterval(() => {
    purgeNonces(db, config.authWindowMs).catch((err) => app.log.warn({ err }, "nonce purge failed"));
  }, 60_000);
  purge.unref();
  app.addHook("onClose", async () => clearInterval(purge));
  return app;
}

/** The body fields that name a webhook target. */
const NOTIFY_URL_FIELDS = ["notifyUrl", "rechargeNotifyUrl"] as const;

async function refuseUnsafeNotifyUrls(body: unknown, allowPrivate: boolean) {
  if (typeof body !== "object" || body === null) return;
  for (const field of NOTIFY_URL_FIELDS) {
    const url = (body as Record<string, unknown>)[field];
    if (typeof url !== "string") continue;
    try {
      await checkNotifyUrl(url, { allowPrivate, resolve: false });
    } catch (e) {
      if (e instanceof WebhookTargetRefusedError) throw new ApiError(ErrorCode.NotifyUrlRefused, `${field}: ${e.shortMessage}`);
      throw e;
    }
  }
}
