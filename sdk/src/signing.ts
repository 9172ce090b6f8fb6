import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Request signing, as the gateway checks it: X-PAY-SIGN = hex HMAC-SHA256 keyed with the API secret
 * string (UTF-8, `sk_` prefix included) over `timestamp\nnonce\nMETHOD\npath?query\nbody`.
 * Duplicated from the gateway on purpose: this package stands alone.
 */
export function requestSigningString(p: { timestamp: string; nonce: string; method: string; target: string; body: string }): string {
  return `${p.timestamp}\n${p.nonce}\n${p.method.toUpperCase()}\n${p.target}\n${p.body}`;
}

export type SignedHeaders = {
  "X-PAY-KEY": string;
  "X-PAY-TIMESTAMP": string;
  "X-PAY-NONCE": string;
  "X-PAY-SIGN": string;
};

/** The four auth headers of one request. `target` is the path plus `?query` exactly as sent. */
export function signRequest(p: {
  apiKey: string;
  apiSecret: string;
  method: string;
  target: string;
  body: string;
  /** unix ms; default now */
  timestamp?: number;
  nonce?: string;
}): SignedHeaders {
  const timestamp = String(p.timestamp ?? Date.now());
  const nonce = p.nonce ?? randomBytes(16).toString("hex");
  const sign = createHmac("sha256", p.apiSecret)
    .update(requestSigningString({ timestamp, nonce, method: p.method, target: p.target, body: p.body }), "utf8")
    .digest("hex");
  return { "X-PAY-KEY": p.apiKey, "X-PAY-TIMESTAMP": timestamp, "X-PAY-NONCE": nonce, "X-PAY-SIGN": sign };
}

/** Constant-time equality of two byte strings (false, not an exception, when the lengths differ). */
export function bytesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
