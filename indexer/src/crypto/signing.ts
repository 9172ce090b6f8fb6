import { createHmac, timingSafeEqual } from "node:crypto";

/** The string a merchant signs: `timestamp\nnonce\nMETHOD\npath?query\nbody` (see DESIGN.md). */
export function requestSigningString(args: {
  timestamp: string;
  nonce: string;
  method: string;
  /** the request target exactly as sent: path, plus `?query` when there is one */
  url: string;
  body: string;
}): string {
  return `${args.timestamp}\n${args.nonce}\n${args.method.toUpperCase()}\n${args.url}\n${args.body}`;
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
