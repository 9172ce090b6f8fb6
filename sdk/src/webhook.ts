import { createHmac } from "node:crypto";
import { WebhookVerificationError } from "./errors.js";
import { bytesEqual } from "./signing.js";
import type { WebhookEvent } from "./types.js";

/** Node's `req.headers`, a fetch `Headers`, or any record of header names (any case) to values. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export type VerifyWebhookParameters = {
  /** the merchant's webhook secret, `whsec_…` (shown once at merchant creation) */
  secret: string;
  headers: WebhookHeaders;
  /** the raw body exactly as received: verify before parsing, a re-serialised JSON will not match */
  body: string | Uint8Array;
  /** largest accepted distance between the webhook's timestamp and now; default 300 s */
  toleranceSeconds?: number;
  /** unix seconds; default the clock */
  now?: number;
};

/**
 * The HMAC key of a webhook secret: the bytes the base64 after `whsec_` decodes to (the Standard
 * Webhooks rule; the gateway signs X-PAY-SIGN with the same key bytes).
 */
export function webhookKey(secret: string): Buffer {
  const b64 = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new WebhookVerificationError("the webhook secret is not whsec_<base64>");
  const key = Buffer.from(b64, "base64");
  if (key.length === 0) throw new WebhookVerificationError("the webhook secret is empty");
  return key;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

const signed = (key: Buffer, id: string, timestamp: string, body: Buffer) =>
  createHmac("sha256", key).update(`${id}.${timestamp}.`, "utf8").update(body).digest();

/**
 * Checks a webhook from the gateway and returns its parsed body. Accepts either header set:
 * `X-PAY-EVENT-ID`, `X-PAY-TIMESTAMP` (unix s), `X-PAY-SIGN` = hex HMAC-SHA256(key, `id.timestamp.body`),
 * or the Standard Webhooks set `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> …`
 * (same HMAC). The timestamp must be within `toleranceSeconds` of now (replays of old deliveries fail),
 * and signatures are compared in constant time. Throws {@link WebhookVerificationError} otherwise.
 *
 * Retries carry the same event id: deduplicate on `eventId` in your handler.
 */
export function verifyWebhook<T = Record<string, unknown>>(p: VerifyWebhookParameters): WebhookEvent<T> {
  const key = webhookKey(p.secret);
  const body = typeof p.body === "string" ? Buffer.from(p.body, "utf8") : Buffer.from(p.body);
  const tolerance = p.toleranceSeconds ?? 300;
  const now = p.now ?? Math.floor(Date.now() / 1000);

  const payId = header(p.headers, "x-pay-event-id");
  const paySign = header(p.headers, "x-pay-sign");
  const swId = header(p.headers, "webhook-id");
  const swSign = header(p.headers, "webhook-signature");
  let id: string;
  let timestamp: string | undefined;
  let ok = false;
  if (payId && paySign) {
    id = payId;
    timestamp = header(p.headers, "x-pay-timestamp");
  } else if (swId && swSign) {
    id = swId;
    timestamp = header(p.headers, "webhook-timestamp");
  } else {
    throw new WebhookVerificationError("missing signature headers: expected X-PAY-EVENT-ID/X-PAY-TIMESTAMP/X-PAY-SIGN or webhook-id/webhook-timestamp/webhook-signature");
  }
  if (!timestamp || !/^[0-9]{1,12}$/.test(timestamp)) throw new WebhookVerificationError("missing or malformed timestamp header (unix seconds)");
  if (Math.abs(now - Number(timestamp)) > tolerance) {
    throw new WebhookVerificationError(`timestamp ${timestamp} is more than ${tolerance} s from now (${now}): stale or replayed delivery`);
  }
  const mac = signed(key, id, timestamp, body);
  if (payId && paySign) {
    ok = /^[0-9a-fA-F]{64}$/.test(paySign) && bytesEqual(mac, Buffer.from(paySign, "hex"));
  } else {
    for (const part of swSign!.split(" ")) {
      const [version, sig] = part.split(",");
      if (version === "v1" && sig && bytesEqual(mac, Buffer.from(sig, "base64"))) ok = true;
    }
  }
  if (!ok) throw new WebhookVerificationError("signature does not match: wrong webhook secret, or the body was changed (verify the raw body)");
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new WebhookVerificationError("the signed body is not JSON");
  }
  return parsed as WebhookEvent<T>;
}

/**
 * The headers the gateway would send for `body` (both sets). For tests of your webhook endpoint; the
 * gateway's notifier is the real sender.
 */
export function signWebhook(p: { secret: string; id: string; body: string; timestamp?: number }): Record<string, string> {
  const timestamp = String(p.timestamp ?? Math.floor(Date.now() / 1000));
  const mac = signed(webhookKey(p.secret), p.id, timestamp, Buffer.from(p.body, "utf8"));
  return {
    "content-type": "application/json",
    "x-pay-event-id": p.id,
    "x-pay-timestamp": timestamp,
    "x-pay-sign": mac.toString("hex"),
    "webhook-id": p.id,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${mac.toString("base64")}`,
  };
}
