import { readFileSync } from "node:fs";
import cookie from "@fastify/cookie";
import rateLimit from "@fastify/rate-limit";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { IllegalTransitionError } from "../domain/errors.js";
import { purgeConsoleSessions } from "../store/consoleSessions.js";
import { countPendingPayouts } from "../store/consoleQueries.js";
import { NotFoundError } from "../store/errors.js";
import { matchLocale, messagesFor, negotiateLocale, translator, type Locale } from "../web/i18n.js";
import { createConsoleContext, type ConsoleContext, type ConsoleParameters } from "./context.js";
import { approvalRoutes } from "./routes/approvals.js";
import { authRoutes } from "./routes/auth.js";
import { orderRoutes } from "./routes/orders.js";
import { overviewRoutes } from "./routes/overview.js";
import { settingsRoutes } from "./routes/settings.js";
import { CONSOLE_HEADERS, ConsoleError, LANG_COOKIE, checkWrite, loadUser, type ConsoleUser } from "./session.js";
import { errorPage, type T, type ViewContext } from "./views/layout.js";

declare module "fastify" {
  interface FastifyRequest {
    /** the console's signed-in user (null on the sign-in pages and assets) */
    consoleUser: ConsoleUser | null;
    consoleLocale: Locale;
  }
}

// read once at start, served from our origin (the CSP allows no inline code)
const ASSETS: Record<string, { type: string; body: string }> = {
  "console.js": { type: "text/javascript; charset=utf-8", body: readFileSync(new URL("./assets/console.js", import.meta.url), "utf8") },
  "console.css": { type: "text/css; charset=utf-8", body: readFileSync(new URL("./assets/console.css", import.meta.url), "utf8") },
};

/** Paths under the console's base that anyone may open (the rest need a session). */
const PUBLIC = [/^\/signin(\/|$)/, /^\/assets\//];

/** What the route modules share. */
export type ConsoleRouteKit = {
  ctx: ConsoleContext;
  /** the signed-in user of a route that requires one */
  user(request: FastifyRequest): ConsoleUser;
  /** the view context of a request (translations, user, navigation badge) */
  view(request: FastifyRequest): Promise<ViewContext>;
  /** sends a page with the console's security headers */
  html(reply: FastifyReply, status: number, body: string): FastifyReply;
  /** 303 to a console path after a write, with a message key for the next page */
  done(reply: FastifyReply, path: string, key: string, hash?: string): FastifyReply;
  t(request: FastifyRequest): T;
};

/**
 * The merchant console as a Fastify plugin, to register with `{ prefix: ctx.base }` (see mountConsole):
 * server-rendered pages, one script and one stylesheet, in the payment page's languages and under its CSP.
 * Routes: auth (sign-in with Ethereum, sign-out), overview, orders, approvals, settings.
 */
export function consolePlugin(ctx: ConsoleContext) {
  return async function (app: FastifyInstance) {
    await app.register(cookie);
    await app.register(rateLimit, { global: false });
    app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string", bodyLimit: 16 * 1024 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    app.decorateRequest("consoleUser", null);
    app.decorateRequest("consoleLocale", "en");

    const t = (request: FastifyRequest) => translator(request.consoleLocale, "console");
    const html = (reply: FastifyReply, status: number, body: string) =>
      reply.status(status).headers(CONSOLE_HEADERS).type("text/html; charset=utf-8").send(body);
    const kit: ConsoleRouteKit = {
      ctx,
      t,
      html,
      user(request) {
        if (!request.consoleUser) throw new ConsoleError(401, "error.signIn");
        return request.consoleUser;
      },
      async view(request) {
        const user = request.consoleUser;
        const pending = user ? await countPendingPayouts(ctx.db, user.merchantId, user.chainIds) : undefined;
        const done = (request.query as Record<string, unknown> | undefined)?.done;
        const messages = messagesFor(request.consoleLocale, "console") as Record<string, string>;
        const flash =
          typeof done === "string" && /^[a-zA-Z]{1,40}$/.test(done) && messages[`done.${done}`] ? messages[`done.${done}`] : undefined;
        return {
          ctx,
          t: t(request),
          locale: request.consoleLocale,
          url: request.url,
          user,
          pending: pending ? pending.refund + pending.withdrawal + pending.settlement : 0,
          flash,
        };
      },
      done: (reply, path, key, hash = "") =>
        reply.headers(CONSOLE_HEADERS).redirect(`${ctx.base}${path}${path.includes("?") ? "&" : "?"}done=${key}${hash}`, 303),
    };

    app.addHook("onRequest", async (request, reply) => {
      const q = request.query as Record<string, unknown>;
      const asked = typeof q?.lang === "string" ? matchLocale(q.lang) : undefined;
      if (asked)
        reply.setCookie(LANG_COOKIE, asked, { path: ctx.base, secure: true, sameSite: "strict", httpOnly: true, maxAge: 365 * 86400 });
      request.consoleLocale = negotiateLocale(request.headers["accept-language"], asked ?? request.cookies[LANG_COOKIE]);
    });

    // who is signed in, and: no page without a session, no write without the session's CSRF token
    app.addHook("preHandler", async (request, reply) => {
      const path = request.url.slice(ctx.base.length).split("?")[0] || "/";
      if (PUBLIC.some((re) => re.test(path))) return;
      request.consoleUser = await loadUser(ctx, request);
      if (!request.consoleUser) {
        if (request.method === "GET") return reply.headers(CONSOLE_HEADERS).redirect(`${ctx.base}/signin`, 303);
        throw new ConsoleError(401, "error.signIn");
      }
      if (request.method !== "GET" && request.method !== "HEAD") checkWrite(ctx, request, request.consoleUser.session.csrfToken);
    });

    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      let status: number;
      let message: string;
      const tr = t(request);
      if (error instanceof ConsoleError) {
        status = error.status;
        const messages = messagesFor(request.consoleLocale, "console") as Record<string, string>;
        message = messages[error.key] !== undefined ? tr(error.key as Parameters<T>[0], error.params) : error.key;
      } else if (error instanceof NotFoundError) {
        status = 404;
        message = tr("error.notFound");
      } else if (error instanceof IllegalTransitionError) {
        status = 409;
        message = tr("error.state");
      } else if (error.statusCode === 429) {
        status = 429;
        message = tr("error.rateLimited");
      } else if (
        error.validation ||
        error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" ||
        error.statusCode === 400 ||
        error.statusCode === 413 ||
        error.statusCode === 415
      ) {
        status = error.statusCode && error.statusCode < 500 ? error.statusCode : 400;
        message = tr("error.badRequest");
      } else {
        status = 500;
        message = tr("error.internal");
        request.log.error({ err: error }, "console request failed");
      }
      if (wantsJson(request))
        return reply.status(status).headers({ "cache-control": "no-store", "x-content-type-options": "nosniff" }).send({ error: message });
      return html(
        reply,
        status,
        errorPage(
          await kit.view(request).catch(() => ({ ctx, t: tr, locale: request.consoleLocale, url: request.url, user: null })),
          status,
          message,
        ),
      );
    });

    app.setNotFoundHandler(async (request, reply) => {
      if (!request.consoleUser && !PUBLIC.some((re) => re.test(request.url.slice(ctx.base.length))))
        request.consoleUser = await loadUser(ctx, request);
      const v = await kit.view(request);
      if (wantsJson(request)) return reply.status(404).send({ error: v.t("error.notFound") });
      return html(reply, 404, errorPage(v, 404, v.t("error.notFound")));
    });

    app.get("/", async (_request, reply) => reply.headers(CONSOLE_HEADERS).redirect(`${ctx.base}/overview`, 303));

    app.get<{ Params: { name: string } }>("/assets/:name", async (request, reply) => {
      const a = ASSETS[request.params.name];
      if (!a) return reply.status(404).type("text/plain").send("Not found");
      return reply.headers({ "x-content-type-options": "nosniff", "cache-control": "public, max-age=300" }).type(a.type).send(a.body);
    });

    await app.register(authRoutes(kit));
    await app.register(overviewRoutes(kit));
    await app.register(orderRoutes(kit));
    await app.register(approvalRoutes(kit));
    await app.register(settingsRoutes(kit));

    const purge = setInterval(
      () => purgeConsoleSessions(ctx.db).catch((err) => app.log.warn({ err }, "console session purge failed")),
      10 * 60_000,
    );
    purge.unref();
    app.addHook("onClose", async () => clearInterval(purge));
  };
}

const wantsJson = (request: FastifyRequest) =>
  (request.headers.accept ?? "").includes("application/json") || (request.headers["content-type"] ?? "").includes("application/json");

/** Mounts the console on the gateway's Fastify app at its public path (default /console). */
export async function mountConsole(app: FastifyInstance, p: ConsoleParameters): Promise<ConsoleContext> {
  const ctx = createConsoleContext(p);
  await app.register(consolePlugin(ctx), { prefix: ctx.base });
  return ctx;
}
