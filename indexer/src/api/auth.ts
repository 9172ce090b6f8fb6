import type { FastifyReply, FastifyRequest } from "fastify";
import { paySignature, paySignaturesEqual } from "../crypto/signing.js";
import type { SecretBox } from "../crypto/secretBox.js";
import type { Db } from "../store/db.js";
import { findApiKey, type ApiKeyRecord } from "../store/merchants.js";
import { forgetSignature, rememberSignature } from "../store/nonces.js";
import { ApiError, ErrorCode } from "../wire/errors.js";
import type { RateLimiter } from "./rateLimit.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * A signed write is accepted once per signature within the timestamp window (Pay Protocol has no nonce
     * header), unless the body carries one of these fields: then the write is idempotent by it (a repeat answers
     * the same object) and its signature is not remembered. Reads (GET) are never remembered.
     */
    idempotentBy?: readonly string[];
  }
}

export type RequestAuthenticator = {
  /** the preValidation hook: checks the request and sets request.merchantId */
  verify(request: FastifyRequest): Promise<void>;
  /** the onResponse hook: a remembered write that was refused or failed is forgotten, so the same signed request may be retried */
  settle(request: FastifyRequest, reply: FastifyReply): Promise<void>;
};

export type CreateRequestAuthenticatorParameters = {
  db: Db;
  box: SecretBox;
  /** largest accepted distance between X-PAY-TIMESTAMP and the server clock (Pay Protocol: 60 s) */
  windowMs: number;
  /** how long an opened API key stays cached (rotation and revocation take effect after this) */
  keyCacheMs?: number;
  /** checked after the signature verifies */
  rateLimiter?: RateLimiter;
  now?: () => number;
};

const KEY = /^[A-Za-z0-9_.:-]{1,64}$/;
const SECONDS = /^[0-9]{1,11}$/;
const header = (r: FastifyRequest, name: string) => {
  const v = r.headers[name];
  return typeof v === "string" ? v.trim() : undefined;
};

const remembered = new WeakMap<FastifyRequest, { keyId: string; sign: string }>();

/**
 * Checks a signed merchant request by Pay Protocol's rule (reference 1.2-1.3): `X-PAY-KEY` names an active
 * API key, `X-PAY-TIMESTAMP` is unix seconds within the window, and `X-PAY-SIGN` = Base64(HMAC-SHA256(API
 * secret, timestamp + METHOD + requestPath + body)) where requestPath is the path and query exactly as
 * received and body the raw bytes ("" for GET), compared in constant time. Then the per-key rate limit, and
 * the replay rule: a POST that no business key makes idempotent ({idempotentBy}) is accepted once per
 * signature (the signature is remembered for twice the window, shared by every process through the store).
 */
export function createRequestAuthenticator({
  db,
  box,
  windowMs,
  keyCacheMs = 30_000,
  rateLimiter,
  now = Date.now,
}: CreateRequestAuthenticatorParameters): RequestAuthenticator {
  const cache = new Map<string, { record: ApiKeyRecord; until: number }>();

  async function lookup(keyId: string): Promise<ApiKeyRecord | null> {
    const hit = cache.get(keyId);
    if (hit && hit.until > now()) return hit.record;
    const record = await findApiKey(db, box, keyId);
    if (record) {
      if (cache.size > 10_000) cache.clear();
      cache.set(keyId, { record, until: now() + keyCacheMs });
    } else cache.delete(keyId);
    return record;
  }

  async function verify(request: FastifyRequest): Promise<void> {
    const keyId = header(request, "x-pay-key");
    const timestamp = header(request, "x-pay-timestamp");
    const sign = header(request, "x-pay-sign");
    const missing = [
      !keyId || !KEY.test(keyId) ? "X-PAY-KEY (your API key)" : null,
      !timestamp ? "X-PAY-TIMESTAMP (unix time in seconds)" : null,
      !sign ? "X-PAY-SIGN (Base64 of the HMAC-SHA256)" : null,
    ].filter(Boolean);
    if (missing.length) throw new ApiError(ErrorCode.MissingAuth, `Missing or malformed header: ${missing.join(", ")}`);
    if (!SECONDS.test(timestamp!)) {
      throw new ApiError(
        ErrorCode.MissingAuth,
        /^[0-9]{12,14}$/.test(timestamp!)
          ? `X-PAY-TIMESTAMP "${timestamp}" looks like milliseconds: send unix time in seconds, e.g. ${Math.floor(now() / 1000)}`
          : `X-PAY-TIMESTAMP "${timestamp}" is not unix time in seconds: send digits only, e.g. ${Math.floor(now() / 1000)}`,
      );
    }
    const skew = Math.floor(now() / 1000) - Number(timestamp);
    if (Math.abs(skew) * 1000 > windowMs) {
      throw new ApiError(
        ErrorCode.StaleTimestamp,
        `X-PAY-TIMESTAMP is ${skew} s away from the server clock (${Math.floor(now() / 1000)}); it must be within ${windowMs / 1000} s: send the current unix time in seconds`,
      );
    }
    const record = await lookup(keyId!);
    if (!record) throw new ApiError(ErrorCode.UnknownApiKey, "X-PAY-KEY names no active API key: check the key, or whether it was rotated");
    const body = request.method === "GET" ? "" : (request.rawBody ?? "");
    const expected = paySignature(record.secret, { timestamp: timestamp!, method: request.method, requestPath: request.url, body });
    if (!paySignaturesEqual(expected, sign!)) {
      throw new ApiError(
        ErrorCode.BadSignature,
        `X-PAY-SIGN does not match: it must be Base64(HMAC-SHA256(API secret, timestamp + "${request.method}" + requestPath + body)) with requestPath the path and query exactly as sent ("${
          request.url.length > 120 ? `${request.url.slice(0, 120)}…` : request.url
        }") and body the raw JSON text (empty for GET)`,
      );
    }
    const allowed = rateLimiter?.take(record.keyId);
    if (allowed && !allowed.ok) {
      throw new ApiError(ErrorCode.RateLimited, `Too many requests for this API key: retry after ${allowed.retryAfterMs} ms`);
    }
    if (request.method !== "GET" && !idempotent(request)) {
      if (!(await rememberSignature(db, record.keyId, sign!))) {
        throw new ApiError(
          ErrorCode.Replayed,
          "This signed request was already accepted: a write without an idempotency key is accepted once; sign it again with a new X-PAY-TIMESTAMP to repeat it",
        );
      }
      remembered.set(request, { keyId: record.keyId, sign: sign! });
    }
    request.merchantId = record.merchantId;
  }

  return {
    verify,
    async settle(request, reply) {
      const r = remembered.get(request);
      if (!r) return;
      remembered.delete(request);
      if (reply.statusCode >= 400)
        await forgetSignature(db, r.keyId, r.sign).catch((err) => request.log.warn({ err }, "signature forget failed"));
    },
  };
}

function idempotent(request: FastifyRequest): boolean {
  const keys = request.routeOptions.config?.idempotentBy;
  if (!keys || typeof request.body !== "object" || request.body === null) return false;
  const body = request.body as Record<string, unknown>;
  return keys.some((k) => (typeof body[k] === "string" && (body[k] as string).trim() !== "") || typeof body[k] === "number");
}
