import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { BaseError } from "../domain/errors.js";
import {
  createConsoleSession,
  findConsoleSession,
  revokeConsoleSession,
  updateConsoleSession,
  type ConsoleSessionRecord,
} from "../store/consoleSessions.js";
import { consoleMerchantsOf, roleAllows, type ConsoleRole } from "../store/members.js";
import { PAGE_HEADERS } from "../web/html.js";
import type { ConsoleContext } from "./context.js";

/**
 * Console sessions: a random token in an HttpOnly, Secure, SameSite=Strict cookie scoped to the console's
 * path (the table keeps its sha256), a CSRF token per session that every write must carry, and the role
 * looked up again on every request (a removed member is out at its next click).
 */

export const SESSION_COOKIE = "console_session";
/** a random id of the browser before sign-in: a sign-in nonce is bound to it, so another site cannot sign a visitor in */
export const BROWSER_COOKIE = "console_browser";
export const LANG_COOKIE = "console_lang";
/** absolute lifetime of a session */
export const SESSION_TTL_SECONDS = 12 * 3600;
/** a session unused this long ends */
export const SESSION_IDLE_SECONDS = 2 * 3600;

/**
 * The payment page's headers (its CSP among them), but `same-origin` referrers: with `no-referrer` a browser
 * sends `Origin: null` on form posts, and the console checks the Origin of every write. Console URLs carry
 * no secret, and links leaving the console are `rel="noreferrer"`.
 */
export const CONSOLE_HEADERS: Record<string, string> = { ...PAGE_HEADERS, "referrer-policy": "same-origin" };

export const newToken = () => randomBytes(32).toString("base64url");
export const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");

/** A request the console refuses, with the catalog key of what the person should read. */
export class ConsoleError extends BaseError {
  override name = "ConsoleError";
  constructor(
    readonly status: number,
    readonly key: string,
    readonly params: Record<string, string | number> = {},
  ) {
    super(`${status} ${key}`);
  }
}

export type ConsoleUser = {
  session: ConsoleSessionRecord;
  /** lowercase */
  address: string;
  merchantId: bigint;
  merchantName: string;
  role: ConsoleRole;
  /** every merchant this address may open */
  merchants: { merchantId: bigint; name: string; role: ConsoleRole }[];
  /** the view shows test chains */
  sandbox: boolean;
  /** the chains this view shows */
  chainIds: number[];
};

export const cookieOptions = (ctx: ConsoleContext, maxAge?: number) => ({
  path: ctx.base,
  httpOnly: true,
  // browsers keep Secure cookies on http://localhost and http://127.0.0.1 too, so this holds on a local gateway
  secure: true,
  sameSite: "strict" as const,
  ...(maxAge !== undefined ? { maxAge } : {}),
});

/** The signed-in user of a request, or null (no cookie, unknown, expired or revoked session, no role left). */
export async function loadUser(ctx: ConsoleContext, request: FastifyRequest): Promise<ConsoleUser | null> {
  const token = request.cookies[SESSION_COOKIE];
  if (!token) return null;
  const session = await findConsoleSession(ctx.db, sha256(token), SESSION_IDLE_SECONDS);
  if (!session) return null;
  const merchants = await consoleMerchantsOf(ctx.db, session.address);
  let current = merchants.find((m) => m.merchantId === session.merchantId);
  if (!current) {
    // the address lost its role at this merchant: show another of its merchants, or sign it out
    current = merchants[0];
    if (!current) {
      await revokeConsoleSession(ctx.db, session.tokenHash);
      return null;
    }
    await updateConsoleSession(ctx.db, session.tokenHash, { merchantId: current.merchantId });
  }
  const sandbox = ctx.hasTest && (session.sandbox ?? !ctx.hasLive);
  return {
    session,
    address: session.address,
    merchantId: current.merchantId,
    merchantName: current.name,
    role: current.role,
    merchants,
    sandbox,
    chainIds: ctx.viewChains(sandbox),
  };
}

/** Starts a session for `address` at `merchantId` and sets its cookie. */
export async function startSession(ctx: ConsoleContext, reply: FastifyReply, address: string, merchantId: bigint): Promise<void> {
  const token = newToken();
  await createConsoleSession(ctx.db, {
    tokenHash: sha256(token),
    address,
    merchantId,
    csrfToken: newToken(),
    ttlSeconds: SESSION_TTL_SECONDS,
  });
  reply.setCookie(SESSION_COOKIE, token, cookieOptions(ctx, SESSION_TTL_SECONDS));
}

export function requireRole(user: ConsoleUser, role: ConsoleRole): void {
  if (!roleAllows(user.role, role)) throw new ConsoleError(403, "error.role", { role });
}

const equal = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * A write must come from the console's own pages: the browser's Origin (or Sec-Fetch-Site) must be ours,
 * and it must carry the expected token (form field `_csrf` or header `x-csrf-token`).
 */
export function checkWrite(ctx: ConsoleContext, request: FastifyRequest, expectedToken: string): void {
  checkOrigin(ctx, request);
  const header = request.headers["x-csrf-token"];
  const body = request.body as Record<string, unknown> | undefined;
  const sent = typeof header === "string" ? header : typeof body?._csrf === "string" ? body._csrf : "";
  if (!sent || !equal(sent, expectedToken)) throw new ConsoleError(403, "error.csrf");
}

/**
 * The request comes from the console's origin: its Origin header names it, or (a browser that sends
 * `Origin: null` or none) Sec-Fetch-Site, which page scripts cannot set, says same-origin. Clients that send
 * neither (not a browser) pass here and still need the token.
 */
export function checkOrigin(ctx: ConsoleContext, request: FastifyRequest): void {
  const origin = request.headers.origin;
  const site = request.headers["sec-fetch-site"];
  const ok = origin === undefined || origin === "null" ? site === undefined || site === "same-origin" : origin === ctx.origin;
  if (!ok) throw new ConsoleError(403, "error.origin", { origin: ctx.origin });
}

/** The sign-in pages' CSRF token: derived from the browser cookie, so only a page we served to that browser has it. */
export const signinToken = (ctx: ConsoleContext, browser: string) => ctx.mac("signin", browser);
