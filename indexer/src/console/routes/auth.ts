import type { FastifyInstance, FastifyRequest } from "fastify";
import { isAddress, type Address, type Hex } from "viem";
import { hashMessage } from "viem";
import {
  consumeSigninNonce,
  insertSigninNonce,
  revokeConsoleSession,
  revokeConsoleSessionsOf,
  updateConsoleSession,
} from "../../store/consoleSessions.js";
import { consoleMerchantsOf } from "../../store/members.js";
import type { ConsoleRouteKit } from "../plugin.js";
import {
  BROWSER_COOKIE,
  CONSOLE_HEADERS,
  ConsoleError,
  checkOrigin,
  SESSION_COOKIE,
  cookieOptions,
  loadUser,
  newToken,
  sha256,
  signinToken,
  startSession,
} from "../session.js";
import { checkSignature } from "../signatures.js";
import { checkSigninMessage, newSigninNonce, signinMessage, SIGNIN_MESSAGE_TTL_SECONDS } from "../siwe.js";
import { signinPage } from "../views/signin.js";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Sign-in with Ethereum and sign-out:
 * - `GET /signin`: the page; sets the browser cookie a nonce will be bound to
 * - `POST /signin/nonce {address, chainId}`: the EIP-4361 message to sign, with a fresh single-use nonce
 * - `POST /signin/verify {message, signature}`: checks the message (host, URI, chain, expiry), uses its
 *   nonce once, checks the signature (ECDSA or ERC-1271), and opens a session at a merchant the address
 *   may use (its payout signer, or a member)
 * - `POST /signout`, `POST /signout-everywhere` (every session of the address), `POST /session/merchant`
 * Both sign-in posts are rate-limited per client address and must carry the page's token and come from
 * the console's origin.
 */
export function authRoutes(kit: ConsoleRouteKit) {
  const { ctx } = kit;
  const limited = { config: { rateLimit: { max: ctx.signinPerMinute, timeWindow: 60_000 } } };

  /** The sign-in posts: from our origin, from a browser holding our cookie, with the token our page gave it. */
  const browserOf = (request: FastifyRequest): string => {
    checkOrigin(ctx, request);
    const browser = request.cookies[BROWSER_COOKIE];
    const token = request.headers["x-csrf-token"];
    if (!browser || typeof token !== "string" || token !== signinToken(ctx, browser)) throw new ConsoleError(403, "signin.reload");
    return browser;
  };

  return async function (app: FastifyInstance) {
    app.get("/signin", async (request, reply) => {
      if (await loadUser(ctx, request)) return reply.headers(CONSOLE_HEADERS).redirect(`${ctx.base}/overview`, 303);
      let browser = request.cookies[BROWSER_COOKIE];
      if (!browser || !/^[A-Za-z0-9_-]{43}$/.test(browser)) {
        browser = newToken();
        reply.setCookie(BROWSER_COOKIE, browser, cookieOptions(ctx, 86_400));
      }
      const v = await kit.view(request);
      return kit.html(
        reply,
        200,
        signinPage(v, {
          token: signinToken(ctx, browser),
          wrongHost: request.host !== ctx.publicUrl.host,
          insecure: ctx.publicUrl.protocol === "http:" && !LOOPBACK.has(ctx.publicUrl.hostname),
        }),
      );
    });

    app.post<{ Body: { address: string; chainId: number } }>(
      "/signin/nonce",
      {
        ...limited,
        schema: {
          body: {
            type: "object",
            required: ["address", "chainId"],
            additionalProperties: false,
            properties: { address: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" }, chainId: { type: "integer", minimum: 1 } },
          },
        },
      },
      async (request, reply) => {
        const browser = browserOf(request);
        const { address } = request.body;
        if (!isAddress(address, { strict: false })) throw new ConsoleError(400, "error.badRequest");
        // the wallet's chain when the gateway knows it (a contract signer is asked over that chain's RPC), else one that has an RPC
        const chainId = ctx.chain(request.body.chainId)?.chainId ?? (ctx.chains.find((c) => c.rpcUrl) ?? ctx.chains[0])!.chainId;
        const nonce = newSigninNonce();
        await insertSigninNonce(ctx.db, { nonce, address, browser: sha256(browser), ttlSeconds: SIGNIN_MESSAGE_TTL_SECONDS });
        const message = signinMessage(ctx, { address: address as Address, chainId, nonce, now: new Date() });
        return reply.headers({ "cache-control": "no-store" }).send({ message, chainId });
      },
    );

    app.post<{ Body: { message: string; signature: string } }>(
      "/signin/verify",
      {
        ...limited,
        schema: {
          body: {
            type: "object",
            required: ["message", "signature"],
            additionalProperties: false,
            properties: { message: { type: "string", maxLength: 4096 }, signature: { type: "string", pattern: "^0x[0-9a-fA-F]{2,8192}$" } },
          },
        },
      },
      async (request, reply) => {
        const browser = browserOf(request);
        const checked = checkSigninMessage(ctx, request.body.message, new Date());
        if (!checked.ok) throw new ConsoleError(401, `signin.bad.${checked.reason}`);
        // single use: a replayed message (or one issued to another browser or address) stops here
        if (!(await consumeSigninNonce(ctx.db, { nonce: checked.nonce, address: checked.address, browser: sha256(browser) }))) {
          throw new ConsoleError(401, "signin.bad.nonce");
        }
        const sig = await checkSignature(ctx, {
          chainId: checked.chainId,
          address: checked.address,
          hash: hashMessage(request.body.message),
          signature: request.body.signature as Hex,
        });
        if (!sig.ok) throw new ConsoleError(401, sig.reason === "rpc_failed" ? "signin.bad.rpc" : "signin.bad.signature");
        const merchants = await consoleMerchantsOf(ctx.db, checked.address);
        if (merchants.length === 0) throw new ConsoleError(403, "signin.noAccess", { address: checked.address });
        await startSession(ctx, reply, checked.address, merchants[0]!.merchantId);
        request.log.info({ address: checked.address, merchantId: merchants[0]!.merchantId.toString(), by: sig.by }, "console sign-in");
        return reply.headers({ "cache-control": "no-store" }).send({ redirect: `${ctx.base}/overview` });
      },
    );

    app.post("/signout", async (request, reply) => {
      const user = kit.user(request);
      await revokeConsoleSession(ctx.db, user.session.tokenHash);
      reply.clearCookie(SESSION_COOKIE, cookieOptions(ctx));
      return reply.headers(CONSOLE_HEADERS).redirect(`${ctx.base}/signin?done=signedOut`, 303);
    });

    app.post("/signout-everywhere", async (request, reply) => {
      const user = kit.user(request);
      const n = await revokeConsoleSessionsOf(ctx.db, user.address);
      request.log.info({ address: user.address, sessions: n }, "console signed out everywhere");
      reply.clearCookie(SESSION_COOKIE, cookieOptions(ctx));
      return reply.headers(CONSOLE_HEADERS).redirect(`${ctx.base}/signin?done=signedOutEverywhere`, 303);
    });

    app.post<{ Body: { merchantId?: string } }>("/session/merchant", async (request, reply) => {
      const user = kit.user(request);
      const wanted = /^\d{1,19}$/.test(request.body?.merchantId ?? "") ? BigInt(request.body!.merchantId!) : -1n;
      if (!user.merchants.some((m) => m.merchantId === wanted)) throw new ConsoleError(404, "error.notFound");
      await updateConsoleSession(ctx.db, user.session.tokenHash, { merchantId: wanted });
      return kit.done(reply, "/overview", "switched");
    });
  };
}
