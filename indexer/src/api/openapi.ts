import type { RouteOptions } from "fastify";
import { ErrorCode } from "./errors.js";

type Schema = Record<string, any>;

/** Meaning of each error code, for the document (keep beside {ErrorCode}). */
const ERROR_TEXT: Record<number, string> = {
  [ErrorCode.InvalidRequest]: "a field is missing, mistyped, malformed or unknown (the message names it)",
  [ErrorCode.InvalidAmount]: "the amount is zero, has more decimals than the token, or exceeds uint256",
  [ErrorCode.UnknownChain]: "chainId is not configured on this gateway",
  [ErrorCode.UnknownToken]: "the token is not accepted on that chain",
  [ErrorCode.InvalidJson]: "the body is not valid JSON",
  [ErrorCode.RefundAddressRequired]: "the refund needs a toAddress: the payer's address is not known",
  [ErrorCode.InvalidPayoutSignature]: "the payout signature does not recover to the merchant's payout signer",
  [ErrorCode.PayoutSignerMissing]: "the merchant has no payout signer registered",
  [ErrorCode.MissingAuth]: "an X-PAY-* header is missing or malformed",
  [ErrorCode.UnknownApiKey]: "X-PAY-KEY names no active key",
  [ErrorCode.StaleTimestamp]: "X-PAY-TIMESTAMP is more than 5 minutes from the server clock",
  [ErrorCode.BadSignature]: "X-PAY-SIGN does not match the request",
  [ErrorCode.NonceReused]: "X-PAY-NONCE was already used with this key",
  [ErrorCode.PaymentOrderNotFound]: "no such payment order for this merchant",
  [ErrorCode.UserNotFound]: "no such user for this merchant",
  [ErrorCode.RefundOrderNotFound]: "no such refund order for this merchant",
  [ErrorCode.WithdrawalOrderNotFound]: "no such withdrawal order for this merchant",
  [ErrorCode.RechargeOrderNotFound]: "no such recharge order for this merchant",
  [ErrorCode.RouteNotFound]: "no such route",
  [ErrorCode.IdempotencyConflict]: "the idempotency key (merchantOrderId, …) was used with different parameters",
  [ErrorCode.IllegalState]: "the order's state does not allow this action",
  [ErrorCode.PayloadTooLarge]: "the body is over 64 KiB",
  [ErrorCode.RateLimited]: "too many requests for this API key (per process); retry after the time given",
  [ErrorCode.Internal]: "internal error",
  [ErrorCode.Unavailable]: "the database is unavailable; retry",
  [ErrorCode.SettlementOrderNotFound]: "no such settlement order for this merchant",
  [ErrorCode.SignatureNotExpected]: "the gateway holds this merchant's payout key (payoutKeyMode gateway): approve without a signature",
  [ErrorCode.NotifyUrlRefused]: "a notify URL names a loopback, private or link-local host (refused unless the operator sets allowPrivateWebhookTargets)",
};

const DESCRIPTION = `Merchant API of the EVM payment gateway.

Every /api/mer/ request is signed: headers X-PAY-KEY (API key id), X-PAY-TIMESTAMP (unix ms, within 5 minutes),
X-PAY-NONCE (8-64 of [A-Za-z0-9_.:-], never reused per key) and X-PAY-SIGN = hex HMAC-SHA256(API secret,
"timestamp\\nnonce\\nMETHOD\\npath?query\\nbody"), where path?query and body are exactly as sent (body "" for GET).

Responses: {"code": 200, "msg": "success", "data": ...}; errors {"code": <error code>, "msg": <what to fix>, "data": null}
with HTTP status = first three digits of the code.

Payment order states: 0 unpaid, 1 incomplete (less than due seen), 2 awaiting confirmation, 3 confirming, 4 success,
-1 failed, -2 expired, -3 cancelled. Refund/withdrawal states: 0 pending approval, 1 approved, 2 broadcast, 3 success,
-1 rejected, -2 failed (settlements too). Recharge states: 2 awaiting confirmation, 3 confirming, 4 success, -1 dropped (reorg).
Payout approval (refund/approve, withdraw/approve, settlement/approve): a merchant with payoutKeyMode "merchant" sends
the payout signer's EIP-712 signature over payoutTypedData from the detail route; with payoutKeyMode "gateway" it sends
none and the gateway signs with the key it holds (merchant/settings shows the mode; details show approvedBy).
Amounts: human decimal strings in the token's units ("12.5"), and *BaseUnits as integer strings.

Error codes:
${Object.entries(ERROR_TEXT)
  .map(([c, t]) => `- ${c}: ${t}`)
  .join("\n")}`;

/** Collects every route's schema (register `onRoute` before the routes) into an OpenAPI 3.1 document. */
export function createOpenApiCollector() {
  const paths: Record<string, Record<string, Schema>> = {};
  return {
    onRoute(route: RouteOptions) {
      const schema = route.schema as Schema | undefined;
      if (!schema || route.url.includes("*")) return;
      const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== "HEAD");
      const signed = route.url.startsWith("/api/mer/");
      for (const method of methods) {
        const op: Schema = { summary: schema.summary ?? route.url, responses: {} };
        if (signed) op.security = [{ signedRequest: [] }];
        if (schema.querystring) {
          op.parameters = Object.entries(schema.querystring.properties ?? {}).map(([name, s]) => ({
            name,
            in: "query",
            required: (schema.querystring.required ?? []).includes(name),
            schema: s,
          }));
          if (schema.querystring.minProperties === 1) op.description = "Give exactly one of the query parameters.";
        }
        if (schema.body) op.requestBody = { required: true, content: { "application/json": { schema: schema.body } } };
        for (const [status, s] of Object.entries(schema.response ?? {})) {
          op.responses[status.replace("xx", "XX")] = {
            description: status === "200" ? "success" : "error (see the error codes)",
            content: { "application/json": { schema: s } },
          };
        }
        // other media types the route answers with (bill: text/csv), as plain text
        for (const type of (schema.produces as string[] | undefined) ?? []) {
          if (op.responses["200"]) op.responses["200"].content[type] = { schema: { type: "string" } };
        }
        (paths[route.url] ??= {})[method.toLowerCase()] = op;
      }
    },
    document() {
      return {
        openapi: "3.1.0",
        info: { title: "EVM payment gateway merchant API", version: "1", description: DESCRIPTION },
        components: {
          securitySchemes: {
            signedRequest: { type: "apiKey", in: "header", name: "X-PAY-KEY", description: "plus X-PAY-TIMESTAMP, X-PAY-NONCE, X-PAY-SIGN" },
          },
        },
        "x-error-codes": ERROR_TEXT,
        paths,
      };
    },
  };
}
