import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Pay Protocol's signature (reference section 1.3), for requests the merchant sends and callbacks the
 * gateway sends alike: `X-PAY-SIGN` = Base64(HMAC-SHA256(API secret, timestamp + METHOD + requestPath + body)),
 * plain concatenation; `timestamp` is the X-PAY-TIMESTAMP string (unix seconds), `requestPath` the path and
 * query exactly as sent, `body` the raw bytes (empty for GET). The secret string's UTF-8 bytes are the key.
 */
export function paySignature(
  secret: string | Buffer,
  p: { timestamp: string; method: string; requestPath: string; body: string | Buffer },
): string {
  const mac = createHmac("sha256", secret).update(`${p.timestamp}${p.method.toUpperCase()}${p.requestPath}`, "utf8");
  mac.update(typeof p.body === "string" ? Buffer.from(p.body, "utf8") : p.body);
  return mac.digest("base64");
}

/** Constant-time comparison of a received X-PAY-SIGN with the expected one (standard Base64 of 32 bytes). */
export function paySignaturesEqual(expectedBase64: string, given: string): boolean {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(expectedBase64, "base64"), Buffer.from(given, "base64"));
}

/** The path and query of a URL as a signed `requestPath` (callbacks sign their notify URL's). */
export function requestPathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

/** hex HMAC-SHA256 of `message` under `secret` (the secret string's UTF-8 bytes are the key). */
export function hmacHex(secret: string | Buffer, message: string): string {
  return createHmac("sha256", secret).update(message, "utf8").digest("hex");
}

/** Constant-time comparison of two hex signatures (case-insensitive). */
export function signaturesEqual(expectedHex: string, givenHex: string): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(givenHex)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, "hex"), Buffer.from(givenHex, "hex"));
}

/** seed 003's `accessSign`: upper-case hex HMAC of the payOrderId under the gateway's access key. */
export function accessSign(accessKey: Buffer, payOrderId: string): string {
  return hmacHex(accessKey, `accessSign:${payOrderId}`).toUpperCase();
}

/**
 * The Standard Webhooks signature (`webhook-signature: v1,<base64>`) of one delivery, keyed with the bytes of
 * the merchant's `whsec_<base64>` webhook secret over `id.timestamp.body`.
 */
export function standardWebhookSignature(key: Buffer, p: { id: string; timestamp: string; body: string }): string {
  return createHmac("sha256", key).update(`${p.id}.${p.timestamp}.${p.body}`, "utf8").digest("base64");
}
