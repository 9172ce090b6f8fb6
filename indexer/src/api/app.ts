import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
} from "fastify";
import type { GatewayConfig } from "../config.js";
import type { Db } from "../store/db.js";
import { checkNotifyUrl, WebhookTargetRefusedError } from "../notify/urlGuard.js";
import { purgeNonces } from "../store/nonces.js";
import { payPageRoutes } from "../web/payPageRoutes.js";
import { ApiError, ErrorCode, toApiError } from "../wire/errors.js";
import { openApiOptions } from "../wire/openapi.js";
import { SHARED_SCHEMAS } from "../wire/schemas.js";
import { createRequestAuthenticator } from "./auth.js";
import { createGatewayContext } from "./context.js";
import { lazyCompilersFactory } from "./lazyCompilers.js";
import { createRateLimiter } from "./rateLimit.js";
import { billRoutes } from "./routes/bill.js";
import { confRoutes } from "./routes/conf.js";
import { merchantRoutes } from "./routes/merchant.js";
import { paymentRoutes } from "./routes/payment.js";
import { payoutBatchRoutes } from "./routes/payoutBatch.js";
import { payoutRoutes } from "./routes/payouts.js";
import { qrcodeRoutes } from "./routes/qrcode.js";
import { rechargeRoutes } from "./routes/recharge.js";
import { userRoutes } from "./routes/user.js";
import { webhookRoutes } from "./routes/webhook.js";

declare module "fastify" {
  interface FastifyRequest {
    /** set by the auth hook on every /api/mer/ route */
    merchantId: bigint;
    /** the body's bytes exactly as received: part of the signed string */
    rawBody?: Buffer;
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

const fail = (code: ErrorCode, msg: string) => ({ code, msg, data: null });

/**
 * The merchant API as a Fastify instance, not listening: the caller (server.ts or a test) listens.
 * Every /api/mer/ route speaks Pay Protocol's wire format (src/wire/): signed requests (auth.ts), JSON Schema
 * validation, the envelope `{ code, msg, data }`. The OpenAPI 3.1 document is generated from the route
 * schemas (`GET /api/openapi.json`, a browsable page at `/api/docs`).
 */
export async function buildApp({ db, config, logger = false, health, metrics }: BuildAppParameters): Promise<FastifyInstance> {
  const isInstance = typeof logger === "object" && logger !== null && typeof (logger as FastifyBaseLogger).child === "function";
  const app = Fastify({
    // Fastify 5 takes a ready pino instance as `loggerInstance`, options as `logger`
    ...(isInstance ? { loggerInstance: logger as FastifyBaseLogger } : { logger: logger as FastifyServerOptions["logger"] }),
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, strictTypes: false, allowUnionTypes: true } },
    // validators and serializers compiled on a route's first request, not at boot (see lazyCompilers.ts)
    schemaController: { compilersFactory: lazyCompilersFactory as never },
    // a URL Fastify cannot decode answers in the envelope too
    frameworkErrors: (error, _request, reply) => {
      (reply as FastifyReply)
        .status(400)
        .send(
          fail(ErrorCode.InvalidRequest, `Invalid request: the URL is malformed (${error.message}); percent-encode the path and query`),
        );
    },
  });
  const ctx = await createGatewayContext(db, config);
  const auth = createRequestAuthenticator({
    db,
    box: ctx.box,
    windowMs: config.authWindowMs,
    rateLimiter: createRateLimiter({ ratePerSecond: config.rateLimitPerSecond }),
  });

  // keep the body bytes exactly as sent: they are part of the signed string
  app.removeContentTypeParser("text/plain");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    const bytes = body as Buffer;
    request.rawBody = bytes;
    if (bytes.length === 0) return done(null, undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString("utf8"));
    } catch {
      return done(new ApiError(ErrorCode.InvalidJson, "The body is not valid JSON"), undefined);
    }
    const nul = nulPath(parsed, "body");
    if (nul)
      return done(new ApiError(ErrorCode.InvalidRequest, `Invalid request: ${nul} holds a NUL byte (\\u0000); remove it`), undefined);
    done(null, parsed);
  });
  app.decorateRequest("merchantId", 0n);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let e: ApiError;
    if (error instanceof ApiError) {
      e = error;
    } else if (error.validation) {
      const v = error.validation[0];
      const where = `${error.validationContext ?? "body"}${v?.instancePath ?? ""}`;
      const extra = (v?.params as { additionalProperty?: string } | undefined)?.additionalProperty;
      e = new ApiError(
        ErrorCode.InvalidRequest,
        extra ? `Invalid request: ${where} has an unknown field "${extra}"` : `Invalid request: ${where} ${v?.message ?? error.message}`,
      );
    } else if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      e = new ApiError(ErrorCode.PayloadTooLarge, "The body is larger than 64 KiB");
    } else if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" || error.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
      e = new ApiError(ErrorCode.UnsupportedMediaType, "Send the body as JSON with Content-Type: application/json");
    } else if (error.code?.startsWith("FST_ERR") && error.statusCode === 400) {
      e = new ApiError(ErrorCode.InvalidRequest, `Invalid request: ${error.message}`);
    } else {
      e = toApiError(error);
    }
    if (e.statusCode >= 500) request.log.error({ err: error, code: e.code }, "request failed");
    reply.status(e.statusCode).send(fail(e.code, e.shortMessage));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(fail(ErrorCode.RouteNotFound, `No route ${request.method} ${request.url.split("?")[0]}`));
  });

  for (const s of SHARED_SCHEMAS) app.addSchema(s);
  await app.register(swagger, openApiOptions(config));
  await app.register(swaggerUi, { routePrefix: "/api/docs", staticCSP: true });

  await app.register(
    async (mer) => {
      mer.addHook("onRequest", async (request) => {
        // Pay Protocol: every POST body is JSON; say so before anything else (not "signature does not match")
        if (request.method === "POST" && !/^application\/json\s*(;|$)/i.test(request.headers["content-type"] ?? "")) {
          throw new ApiError(
            ErrorCode.UnsupportedMediaType,
            `Send the body as JSON with Content-Type: application/json (got ${request.headers["content-type"] ? `"${request.headers["content-type"]}"` : "no Content-Type"})`,
          );
        }
      });
      mer.addHook("preValidation", async (request) => {
        const nul = nulPath(request.query, "querystring");
        if (nul) throw new ApiError(ErrorCode.InvalidRequest, `Invalid request: ${nul} holds a NUL byte (%00); remove it`);
        await auth.verify(request);
      });
      mer.addHook("onResponse", auth.settle);
      // a notify URL aimed at the gateway's own network is refused when it is given, not only at delivery
      mer.addHook("preHandler", async (request) => refuseUnsafeNotifyUrls(request.body, config.allowPrivateWebhookTargets ?? false));
      await mer.register(confRoutes(ctx));
      await mer.register(paymentRoutes(ctx));
      await mer.register(payoutRoutes(ctx, "refund"));
      await mer.register(payoutRoutes(ctx, "withdrawal"));
      await mer.register(payoutRoutes(ctx, "settlement"));
      await mer.register(payoutBatchRoutes(ctx));
      await mer.register(userRoutes(ctx));
      await mer.register(rechargeRoutes(ctx));
      await mer.register(merchantRoutes(ctx));
      await mer.register(webhookRoutes(ctx));
      await mer.register(qrcodeRoutes(ctx));
      await mer.register(billRoutes(ctx));
    },
    { prefix: "/api/mer" },
  );

  // the hosted payment page and the static merchant QR pages (public, at the path of config.payPageUrl)
  await app.register(payPageRoutes(ctx));

  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  app.get(
    "/health",
    {
      schema: {
        summary: "Liveness and, in the full service, each part's health",
        tags: ["operations"],
        operationId: "health",
        security: [],
        response: { 200: { type: "object", additionalProperties: true }, 503: { type: "object", additionalProperties: true } },
      },
    },
    async (_request, reply) => {
      const h = health ? await health() : { ok: true };
      return reply.status(h.ok ? 200 : 503).send(h);
    },
  );
  if (metrics) {
    app.get(
      "/metrics",
      { schema: { summary: "Prometheus metrics", tags: ["operations"], operationId: "metrics", security: [] } },
      async (_request, reply) => reply.type("text/plain; version=0.0.4").send(await metrics()),
    );
  }

  const purge = setInterval(() => {
    purgeNonces(db, config.authWindowMs).catch((err) => app.log.warn({ err }, "signature purge failed"));
  }, 60_000);
  purge.unref();
  app.addHook("onClose", async () => clearInterval(purge));
  return app;
}

/** Where a string holding a NUL byte is (PostgreSQL text cannot hold one), as `body/field[0]`, or null. */
function nulPath(v: unknown, at: string): string | null {
  if (typeof v === "string") return v.includes("\u0000") ? at : null;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const p = nulPath(x, `${at}[${i}]`);
      if (p) return p;
    }
    return null;
  }
  if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (k.includes("\u0000")) return `${at}/<a field name>`;
      const p = nulPath(x, `${at}/${k}`);
      if (p) return p;
    }
  }
  return null;
}

/** The body fields that name a callback target. */
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
