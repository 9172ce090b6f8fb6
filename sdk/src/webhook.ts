import { createHmac } from "node:crypto";
import { WebhookVerificationError } from "./errors.js";
import { bytesEqual, paySignature } from "./signing.js";

/** Node's `req.headers`, a fetch `Headers`, or any record of header names (any case) to values. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** What a callback answer must be: HTTP 200 with this body (the JSON string `"success"` is accepted too). */
export const CALLBACK_ACK = "success";

export type VerifyWebhookParameters = {
  headers: WebhookHeaders;
  /** the raw body exactly as received: verify before parsing, a re-serialised JSON will not match */
  body: string | Uint8Array;
  /**
   * Pay Protocol's check: your API secret and the path and query your server received the callback on
   * (Node: `req.url`), as in the notifyUrl you gave. Verifies X-PAY-SIGN.
   */
  apiSecret?: string;
  requestPath?: string;
  /** the Standard Webhooks check: your `whsec_…` webhook secret. Verifies webhook-signature. */
  secret?: string;
  /** largest accepted distance between the callback's timestamp and now; default 300 s */
  toleranceSeconds?: number;
  /** unix seconds; default the clock */
  now?: number;
};

/** A verified callback: its event id (the same on every retry and re-send) and its body, the object detail answers. */
export type WebhookEvent<T = Record<string, unknown>> = { eventId: string; data: T; verifiedBy: "x-pay-sign" | "standard-webhooks" };

/**
 * The HMAC key of a webhook secret: the bytes the base64 after `whsec_` decodes to (the Standard Webhooks rule).
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

const standardMac = (key: Buffer, id: string, timestamp: string, body: Buffer) =>
  createHmac("sha256", key).update(`${id}.${timestamp}.`, "utf8").update(body).digest();

/**
 * Checks a callback from the gateway and returns it parsed. With `apiSecret` and `requestPath` it checks
 * Pay Protocol's X-PAY-SIGN (Base64(HMAC-SHA256(API secret, X-PAY-TIMESTAMP + "POST" + requestPath + body)));
 * with `secret` (whsec_…) the Standard Webhooks signature; give both and either passing is enough. The
 * timestamp must be within `toleranceSeconds` of now (old deliveries replayed fail) and signatures are
 * compared in constant time. Throws {@link WebhookVerificationError} otherwise.
 *
 * Retries and re-sends carry the same event id: deduplicate on `eventId`, then answer `success`.
 */
export function verifyWebhook<T = Record<string, unknown>>(p: VerifyWebhookParameters): WebhookEvent<T> {
  const body = typeof p.body === "string" ? Buffer.from(p.body, "utf8") : Buffer.from(p.body);
  const tolerance = p.toleranceSeconds ?? 300;
  const now = p.now ?? Math.floor(Date.now() / 1000);
  if (!p.apiSecret && !p.secret) throw new WebhookVerificationError("give apiSecret (with requestPath) or secret (whsec_…) to verify with");
  const fresh = (timestamp: string | undefined) => {
    if (!timestamp || !/^[0-9]{1,12}$/.test(timestamp))
      throw new WebhookVerificationError("missing or malformed timestamp header (unix seconds)");
    if (Math.abs(now - Number(timestamp)) > tolerance) {
      throw new WebhookVerificationError(
        `timestamp ${timestamp} is more than ${tolerance} s from now (${now}): stale or replayed delivery`,
      );
    }
  };
  let verifiedBy: WebhookEvent["verifiedBy"] | null = null;
  const paySign = header(p.headers, "x-pay-sign");
  if (p.apiSecret && paySign) {
    if (p.requestPath === undefined)
      throw new WebhookVerificationError(
        "requestPath is needed to check X-PAY-SIGN: pass the path and query the callback came to (req.url)",
      );
    const timestamp = header(p.headers, "x-pay-timestamp");
    fresh(timestamp);
    const expected = Buffer.from(
      paySignature({ apiSecret: p.apiSecret, timestamp: timestamp!, method: "POST", requestPath: p.requestPath, body }),
      "base64",
    );
    if (/^[A-Za-z0-9+/]{43}=$/.test(paySign) && bytesEqual(expected, Buffer.from(paySign, "base64"))) verifiedBy = "x-pay-sign";
  }
  const swSign = header(p.headers, "webhook-signature");
  const swId = header(p.headers, "webhook-id");
  if (!verifiedBy && p.secret && swSign && swId) {
    const timestamp = header(p.headers, "webhook-timestamp");
    fresh(timestamp);
    const mac = standardMac(webhookKey(p.secret), swId, timestamp!, body);
    for (const part of swSign.split(" ")) {
      const [version, sig] = part.split(",");
      if (version === "v1" && sig && bytesEqual(mac, Buffer.from(sig, "base64"))) verifiedBy = "standard-webhooks";
    }
  }
  if (!verifiedBy) {
    throw new WebhookVerificationError(
      paySign || swSign
        ? "signature does not match: wrong secret, another requestPath, or the body was changed (verify the raw body)"
        : "missing signature headers: expected X-PAY-KEY/X-PAY-TIMESTAMP/X-PAY-SIGN or webhook-id/webhook-timestamp/webhook-signature",
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new WebhookVerificationError("the signed body is not JSON");
  }
  return { eventId: header(p.headers, "x-pay-event-id") ?? swId ?? "", data: parsed as T, verifiedBy };
}

/**
 * The headers the gateway would send for `body` to `url` (both sets). For tests of your callback endpoint;
 * the gateway's notifier is the real sender.
 */
export function signWebhook(p: {
  apiKey: string;
  apiSecret: string;
  secret: string;
  id: string;
  url: string;
  body: string;
  timestamp?: number;
}): Record<string, string> {
  const timestamp = String(p.timestamp ?? Math.floor(Date.now() / 1000));
  const u = new URL(p.url);
  const mac = standardMac(webhookKey(p.secret), p.id, timestamp, Buffer.from(p.body, "utf8"));
  return {
    "content-type": "application/json",
    "x-pay-key": p.apiKey,
    "x-pay-timestamp": timestamp,
    "x-pay-sign": paySignature({
      apiSecret: p.apiSecret,
      timestamp,
      method: "POST",
      requestPath: `${u.pathname}${u.search}`,
      body: p.body,
    }),
    "x-pay-event-id": p.id,
    "webhook-id": p.id,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${mac.toString("base64")}`,
  };
}
