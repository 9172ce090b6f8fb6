import { hmacHex } from "../crypto/signing.js";
import { BaseError } from "../domain/errors.js";

/**
 * The HMAC key of a merchant's webhook secret `whsec_<base64>`: the bytes the base64 decodes to. That is
 * the Standard Webhooks rule, and X-PAY-SIGN uses the same key, so both headers carry the same MAC (hex
 * and base64) and verify with exactly what the merchant was shown (sdk/src/webhook.ts does the same).
 */
export function webhookKey(secret: string): Buffer {
  const b64 = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  const key = Buffer.from(b64, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || key.length === 0) throw new BaseError("A stored webhook secret is not whsec_<base64>");
  return key;
}

/**
 * The signature headers of one delivery attempt: `X-PAY-SIGN` = hex HMAC-SHA256(key, `id.timestamp.body`)
 * and the Standard Webhooks set (`webhook-signature: v1,<base64 of the same MAC>`).
 */
export function webhookHeaders(p: { key: Buffer; eventId: string; timestamp: number; body: string }): Record<string, string> {
  const ts = String(p.timestamp);
  const hex = hmacHex(p.key, `${p.eventId}.${ts}.${p.body}`);
  return {
    "content-type": "application/json",
    "x-pay-event-id": p.eventId,
    "x-pay-timestamp": ts,
    "x-pay-sign": hex,
    "webhook-id": p.eventId,
    "webhook-timestamp": ts,
    "webhook-signature": `v1,${Buffer.from(hex, "hex").toString("base64")}`,
  };
}
