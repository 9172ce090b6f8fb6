import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Pay Protocol's signature, for requests you send and callbacks you receive alike:
 * Base64(HMAC-SHA256(API secret, timestamp + METHOD + requestPath + body)), plain concatenation; timestamp is
 * the X-PAY-TIMESTAMP string (unix seconds), requestPath the path and query exactly as sent, body the raw
 * text ("" for GET). Duplicated from the gateway on purpose: this package stands alone.
 */
export function paySignature(p: {
  apiSecret: string;
  timestamp: string;
  method: string;
  requestPath: string;
  body: string | Uint8Array;
}): string {
  const mac = createHmac("sha256", p.apiSecret).update(`${p.timestamp}${p.method.toUpperCase()}${p.requestPath}`, "utf8");
  mac.update(typeof p.body === "string" ? Buffer.from(p.body, "utf8") : p.body);
  return mac.digest("base64");
}

export type SignedHeaders = { "X-PAY-KEY": string; "X-PAY-TIMESTAMP": string; "X-PAY-SIGN": string };

/** The three auth headers of one request. `requestPath` is the path plus `?query` exactly as sent. */
export function signRequest(p: {
  apiKey: string;
  apiSecret: string;
  method: string;
  requestPath: string;
  body: string;
  /** unix seconds; default now */
  timestamp?: number;
}): SignedHeaders {
  const timestamp = String(p.timestamp ?? Math.floor(Date.now() / 1000));
  return { "X-PAY-KEY": p.apiKey, "X-PAY-TIMESTAMP": timestamp, "X-PAY-SIGN": paySignature({ ...p, timestamp }) };
}

/** Constant-time equality of two byte strings (false, not an exception, when the lengths differ). */
export function bytesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
