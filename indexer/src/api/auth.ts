import type { FastifyRequest } from "fastify";
import { requestSigningString, hmacHex, signaturesEqual } from "../crypto/signing.js";
import type { SecretBox } from "../crypto/secretBox.js";
import type { Db } from "../store/db.js";
import { findApiKey, type ApiKeyRecord } from "../store/merchants.js";
import { useNonce, type RequestNonce } from "../store/nonces.js";
import { ApiError, ErrorCode } from "./errors.js";
import type { RateLimiter } from "./rateLimit.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The route records the request nonce in its own database call (one round trip instead of two): it
     * reads it with {foldedNonceOf} and calls {markNonceUsed} on success; a nonce the handler did not
     * record is recorded after the response ({recordUnusedNonce}). The route must refuse a reused nonce
     * with 40105 like the hook does.
     */
    foldNonce?: boolean;
  }
}

export type RequestAuthenticator = (request: FastifyRequest) => Promise<{ merchantId: bigint; keyId: string }>;

/** The 40105 answer, for the hook and for `foldNonce` routes alike. */
export const nonceReusedError = () =>
  new ApiError(ErrorCode.NonceReused, "X-PAY-NONCE was already used with this key: send a new random nonce with every request");

const folded = new WeakMap<FastifyRequest, RequestNonce>();

/** The verified request's nonce, left to the handler by a `foldNonce` route (undefined on other routes). */
export function foldedNonceOf(request: FastifyRequest): RequestNonce | undefined {
  return folded.get(request);
}

/** Call when the handler's database call recorded the nonce (it succeeded): the fallback skips it. */
export function markNonceUsed(request: FastifyRequest): void {
  folded.delete(request);
}

/**
 * An `onResponse` hook for `foldNonce` routes: records the nonce of a request whose handler did not
 * record it (a validation error, an unknown chain, a failed call), so that request cannot be replayed
 * either. On the error paths where the call did record it this is a harmless `ON CONFLICT DO NOTHING`.
 */
export function recordUnusedNonce(db: Db) {
  return async (request: FastifyRequest) => {
    const n = folded.get(request);
    if (!n) return;
    folded.delete(request);
    await useNonce(db, n.keyId, n.nonce).catch((err) => request.log.warn({ err }, "nonce write failed"));
  };
}

export type CreateRequestAuthenticatorParameters = {
  db: Db;
  box: SecretBox;
  /** largest accepted distance between X-PAY-TIMESTAMP and the server clock */
  windowMs: number;
  /** how long an opened API key stays cached (rotation and revocation take effect after this) */
  keyCacheMs?: number;
  /** checked after the signature verifies, before the nonce is written */
  rateLimiter?: RateLimiter;
  now?: () => number;
};

const NONCE = /^[A-Za-z0-9_.:-]{8,64}$/;
const TIMESTAMP = /^[0-9]{13}$/;
const KEY = /^[A-Za-z0-9_]{1,64}$/;
const header = (r: FastifyRequest, name: string) => {
  const v = r.headers[name];
  return typeof v === "string" ? v : undefined;
};

/**
 * Checks a signed merchant request (DESIGN.md): headers present and well formed, timestamp within the
 * window, API key known and active, X-PAY-SIGN = hex HMAC-SHA256(secret, `timestamp\nnonce\nMETHOD\npath?query\nbody`)
 * compared in constant time, and the nonce unused by this key. The nonce is recorded only after the
 * signature verifies, so nobody can burn a merchant's nonces; on a `foldNonce` route the handler records
 * it in the same statement as its work (see {foldedNonceOf}).
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

  return async (request) => {
    const keyId = header(request, "x-pay-key");
    const timestamp = header(request, "x-pay-timestamp");
    const nonce = header(request, "x-pay-nonce");
    const sign = header(request, "x-pay-sign");
    const missing = [
      !keyId || !KEY.test(keyId) ? "X-PAY-KEY (your API key id)" : null,
      !timestamp || !TIMESTAMP.test(timestamp) ? "X-PAY-TIMESTAMP (unix time in milliseconds, 13 digits)" : null,
      !nonce || !NONCE.test(nonce) ? "X-PAY-NONCE (8-64 characters of A-Z a-z 0-9 _ . : -, new for every request)" : null,
      !sign || !/^[0-9a-fA-F]{64}$/.test(sign) ? "X-PAY-SIGN (64 hex characters)" : null,
    ].filter(Boolean);
    if (missing.length) {
      throw new ApiError(ErrorCode.MissingAuth, `Missing or malformed header: ${missing.join(", ")}`);
    }
    const skew = now() - Number(timestamp);
    if (Math.abs(skew) > windowMs) {
      throw new ApiError(
        ErrorCode.StaleTimestamp,
        `X-PAY-TIMESTAMP is ${Math.round(skew / 1000)} s away from the server clock; it must be within ${windowMs / 1000} s: send the current unix time in milliseconds`,
      );
    }
    const record = await lookup(keyId!);
    if (!record) throw new ApiError(ErrorCode.UnknownApiKey, "X-PAY-KEY names no active API key: check the key id, or whether it was rotated");
    const raw = (request as FastifyRequest & { rawBody?: string }).rawBody ?? "";
    const expected = hmacHex(
      record.secret,
      requestSigningString({ timestamp: timestamp!, nonce: nonce!, method: request.method, url: request.url, body: raw }),
    );
    if (!signaturesEqual(expected, sign!)) {
      throw new ApiError(
        ErrorCode.BadSignature,
        "X-PAY-SIGN does not match: it must be hex HMAC-SHA256 under your API secret of `timestamp\\nnonce\\nMETHOD\\npath?query\\nbody`, with the path and body exactly as sent",
      );
    }
    const allowed = rateLimiter?.take(record.keyId);
    if (allowed && !allowed.ok) {
      throw new ApiError(
        ErrorCode.RateLimited,
        `Too many requests for this API key: retry after ${allowed.retryAfterMs} ms`,
      );
    }
    if (request.routeOptions.config?.foldNonce) {
      folded.set(request, { keyId: record.keyId, nonce: nonce! });
    } else if (!(await useNonce(db, record.keyId, nonce!))) {
      throw nonceReusedError();
    }
    return { merchantId: record.merchantId, keyId: record.keyId };
  };
}
