import { paySignature, requestPathOf, standardWebhookSignature } from "../crypto/signing.js";
import { BaseError } from "../domain/errors.js";

/**
 * The HMAC key of a merchant's webhook secret `whsec_<base64>`: the bytes the base64 decodes to (the Standard
 * Webhooks rule; sdk/src/webhook.ts does the same).
 */
export function webhookKey(secret: string): Buffer {
  const b64 = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  const key = Buffer.from(b64, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || key.length === 0) throw new BaseError("A stored webhook secret is not whsec_<base64>");
  return key;
}

/**
 * The headers of one callback delivery: Pay Protocol's `X-PAY-KEY`, `X-PAY-TIMESTAMP` (unix seconds) and
 * `X-PAY-SIGN` = Base64(HMAC-SHA256(API secret, timestamp + "POST" + <path and query of the notify URL> + body))
 * (the request rule applied to the callback: the choice written in the API document), `X-PAY-EVENT-ID`, and
 * the Standard Webhooks set (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` under the
 * whsec_ key), so a Pay Protocol verifier and an off-the-shelf Standard Webhooks library both accept it.
 */
export function callbackHeaders(p: {
  apiKey: string;
  apiSecret: string;
  webhookKey: Buffer;
  eventId: string;
  timestamp: number;
  url: string;
  body: string;
}): Record<string, string> {
  const ts = String(p.timestamp);
  return {
    "content-type": "application/json",
    "x-pay-key": p.apiKey,
    "x-pay-timestamp": ts,
    "x-pay-sign": paySignature(p.apiSecret, { timestamp: ts, method: "POST", requestPath: requestPathOf(p.url), body: p.body }),
    "x-pay-event-id": p.eventId,
    "webhook-id": p.eventId,
    "webhook-timestamp": ts,
    "webhook-signature": `v1,${standardWebhookSignature(p.webhookKey, { id: p.eventId, timestamp: ts, body: p.body })}`,
  };
}

/** Pay Protocol's acknowledgement: the body `success` (plain text), or the JSON string `"success"` its own WooCommerce plugin sends. */
export function isAcknowledgement(status: number | null, body: string): boolean {
  if (status === null || status < 200 || status > 299) return false;
  const text = body.trim();
  return text === "success" || text === '"success"';
}
