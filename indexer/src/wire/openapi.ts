import type { FastifyDynamicSwaggerOptions } from "@fastify/swagger";
import type { GatewayConfig } from "../config.js";
import { ERROR_TEXT } from "./errors.js";
import { PAYMENT_STATUS, PAYOUT_STATUS, RECHARGE_STATUS } from "./status.js";

const STATE_NAMES = {
  payment: {
    0: "unpaid",
    1: "incomplete (less than due seen)",
    2: "awaiting confirmation",
    3: "confirming",
    4: "success",
    [-1]: "failed",
    [-2]: "expired",
    [-3]: "cancelled",
  },
  payout: { 0: "pending approval", 1: "approved", 2: "broadcast", 3: "success", [-1]: "rejected", [-2]: "failed" },
  recharge: { 2: "awaiting confirmation", 3: "confirming", 4: "success", [-1]: "dropped by a reorg" },
} as const;

const rows = (table: Record<number, number>, names: Record<number, string>) =>
  Object.entries(table)
    .sort(([a], [b]) => Number(b) - Number(a))
    .map(([s, c]) => `| ${s} ${names[Number(s)]} | ${c} |`)
    .join("\n");

/** The status tables of the API document, written from the tables the code uses (wire/status.ts). */
export function statusTables(): string {
  return `Payment: seed 003's \`state\` -> \`paymentStatus\` (0 paid, 1 pending payment, 2 block confirmation, 3 partially paid, 4 payment failed, 5 refunded). Any order whose paid refunds cover everything paid shows 5.

| state | paymentStatus |
| --- | --- |
${rows(PAYMENT_STATUS, STATE_NAMES.payment)}

Refunds, withdrawals, settlements: the payout \`state\` -> \`refundStatus\` / \`withdrawStatus\` / \`settlementStatus\` (0 success, 1 pending approval, 2 under review, 3 block confirmation, 4 failure, 5 rejected).

| state | status |
| --- | --- |
${rows(PAYOUT_STATUS, STATE_NAMES.payout)}

Recharges: \`state\` -> \`rechargeStatus\` (0 success, 1 pending, 2 failure).

| state | rechargeStatus |
| --- | --- |
${rows(RECHARGE_STATUS, STATE_NAMES.recharge)}`;
}

const DESCRIPTION = `Pay Protocol's merchant API (doc.payprotocol.network), served by a self-hosted EVM gateway: an integrator of Pay Protocol switches by changing its base URL (and its payment-page host) and keys.

## Signing (every /api/mer/ request)
Headers \`X-PAY-KEY\` (the API key), \`X-PAY-TIMESTAMP\` (unix seconds, at most 60 s from the server clock) and
\`X-PAY-SIGN\` = Base64(HMAC-SHA256(API secret, timestamp + METHOD + requestPath + body)): plain concatenation; requestPath is
the path and query exactly as sent (\`/api/mer/conf/list/currency?chainId=1\`); body the raw bytes sent (empty for GET); the key
is the API secret string's UTF-8 bytes. POST bodies are JSON with \`Content-Type: application/json\`.
There is no nonce header: reads may repeat; creates that carry their idempotency key (createPaymentOrder's outTradeNo, user/create's
uuid, withdraw/apply's and settlement/apply's outTradeNo, refund's outRefundNo, qrcode's label) answer the same object when repeated;
any other write is accepted once per signature (a replay answers 40105; sign again with a new timestamp to repeat it on purpose).

## Answers
\`{"code":200,"msg":"success","data":…}\` (\`code\` the integer 200); the notify routes answer \`{"code":200,"msg":"success"}\`.
Errors: \`{"code":<error code>,"msg":<what to fix>,"data":null}\` with the HTTP status = the code's first three digits (Pay Protocol publishes no error list).

## Conventions (the points Pay Protocol's reference leaves open, decided here)
- \`chainId\` is the EVM chain id (eth_chainId), not a platform-internal number; conf/list/chain lists the configured chains.
  Sent as a JSON integer or a numeric string ("137"). Integer ids (currencyId, refundId, …) likewise.
- Amounts the merchant sends (quoteAmount, refundAmount, withdrawAmount, settlementAmount, maxAmount) are decimals in the currency's
  units: a string such as "10.00" or, tolerated, a JSON number. Amounts the gateway reports are integer strings in the currency's
  smallest unit, next to \`symbol\` and \`decimals\`, in answers and callbacks alike. quoteAmount is echoed as sent.
- Addresses are EIP-55 checksummed; requests accept lower case or a correct checksum.
- Times are \`YYYY-MM-DD HH:mm:ss\` in UTC; arrivalTime is unix seconds; list filters startTime/endTime are unix seconds (inclusive).
- Lists take page (from 1), size (1..500, default 10), orderStatus (or status), transactionHash, startTime, endTime, chainId and
  answer {count, page, size, list}, newest first.
- user/detail and recharge/list take the user's id as \`UUID\` or \`uuid\`.
- isLegalTender 1 (a fiat quote: quoteCurrencySymbol an ISO code such as USD or CNY) is priced from the chain's on-chain price feeds
  and locked until the order expires; the coin is currencyId, else the chain's first priced stablecoin. 40012: the chain has no
  price feeds; 40013: not that currency or coin; 50302: a feed is stale, zero, negative or off its peg (nothing is created).
- Names the reference leaves open in the payment object: settlementAmount, settlementCurrencySymbol, transferHash, fromAddress,
  createTime, arrivalTime. refundCreate's fields: outTradeNo and/or outPaymentNo, refundAmount, refundAddress, notifyUrl.
- refund/detail by outTradeNo alone answers that payment's latest refund.
- A withdrawal's comma-separated withdrawAddress and withdrawAmount (paired 1:1, at most 100) make one withdrawal of several lines,
  each its own vault payout, shown comma-separated in line order and line by line in \`lines\`.
- The recharge and withdraw notify routes take rechargeId / withdrawId (or outTradeNo); every notify route answers GET and POST.
- Fields after Pay Protocol's, and the routes marked "Addition", are the gateway's (approvals, settlements, settings, bill, QR codes,
  callback log).

## Callbacks (the \`webhooks\` of this document)
POST of compact JSON: exactly the object the matching detail route answers at that moment. Headers: \`X-PAY-KEY\`, \`X-PAY-TIMESTAMP\`
(unix seconds) and \`X-PAY-SIGN\` by the request rule with the merchant's API secret over timestamp + "POST" + <the path and query of
the notify URL> + body (the choice made here: Pay Protocol says only "signed like a request"); \`X-PAY-EVENT-ID\`, stable across
retries and re-sends (deduplicate on it); and the Standard Webhooks set (\`webhook-id\`, \`webhook-timestamp\`,
\`webhook-signature: v1,<base64>\`, keyed with the merchant's whsec_ secret), so either kind of verifier works.
Acknowledge with HTTP 200 and the body \`success\` (plain text; the JSON string \`"success"\` is accepted too); anything else is retried
at 0 s, 15 s, 30 s, 3 min, 5 min and 10 min, then after 30 min, 1 h, 2 h, 4 h, 8 h, 16 h, 16 h (about two days).
Callbacks go out when paymentStatus becomes 0, 3 or 4; refundStatus, withdrawStatus or settlementStatus 0, 4 or 5; rechargeStatus 0
or 2 (reference section 4). With merchant/settings callbackAllEvents every status change and transfer event calls back as well.
Payment, refund, withdrawal and settlement callbacks go to the object's notifyUrl (refunds default to their payment's; withdrawals and
settlements to the recharge callback URL); recharge callbacks to the merchant's recharge callback URL (merchant/settings/update).
A callback with no URL waits (shown in webhook/attempts and the service's health) until one is set. …/notify sends one more.

## Status mapping
${statusTables()}

## Error codes
${Object.entries(ERROR_TEXT)
  .map(([c, t]) => `- ${c}: ${t}`)
  .join("\n")}`;

const callbackHeaders = [
  {
    name: "X-PAY-KEY",
    in: "header",
    required: true,
    schema: { type: "string" },
    description: "the merchant's API key whose secret signed X-PAY-SIGN",
  },
  { name: "X-PAY-TIMESTAMP", in: "header", required: true, schema: { type: "string" }, description: "unix seconds" },
  {
    name: "X-PAY-SIGN",
    in: "header",
    required: true,
    schema: { type: "string" },
    description: 'Base64(HMAC-SHA256(API secret, timestamp + "POST" + path and query of the notify URL + body))',
  },
  {
    name: "X-PAY-EVENT-ID",
    in: "header",
    required: true,
    schema: { type: "string" },
    description: "the event's id, the same on every retry and re-send",
  },
  { name: "webhook-id", in: "header", required: true, schema: { type: "string" }, description: "Standard Webhooks: = X-PAY-EVENT-ID" },
  { name: "webhook-timestamp", in: "header", required: true, schema: { type: "string" }, description: "Standard Webhooks: unix seconds" },
  {
    name: "webhook-signature",
    in: "header",
    required: true,
    schema: { type: "string" },
    description: "Standard Webhooks: v1,<base64 HMAC-SHA256 under the whsec_ secret of id.timestamp.body>",
  },
];

const callback = (name: string, schema: string, when: string) => ({
  post: {
    operationId: `${name}Callback`,
    summary: `The ${name} callback: sent when ${when}`,
    parameters: callbackHeaders,
    requestBody: { required: true, content: { "application/json": { schema: { $ref: `#/components/schemas/${schema}` } } } },
    responses: {
      200: {
        description: 'Acknowledged: the body is success (plain text) or "success" (a JSON string); anything else is retried',
        content: { "text/plain": { schema: { type: "string", enum: ["success"] } } },
      },
    },
  },
});

/** @fastify/swagger's options: OpenAPI 3.1 with the shared objects as components and the callbacks under `webhooks`. */
export function openApiOptions(config: Pick<GatewayConfig, "payPageUrl">): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: "3.1.0",
      info: { title: "Pay Protocol merchant API (EVM gateway)", version: "2", description: DESCRIPTION },
      tags: [
        { name: "conf", description: "chains and currencies" },
        { name: "payment", description: "payment orders" },
        { name: "refund", description: "refunds" },
        { name: "user", description: "users and their recharge addresses" },
        { name: "recharge", description: "recharges" },
        { name: "withdraw", description: "withdrawals" },
        { name: "settlement", description: "addition: the merchant's own balance to its own address" },
        { name: "merchant", description: "addition: settings" },
        { name: "webhook", description: "addition: the callback log" },
        { name: "qrcode", description: "addition: static merchant QR codes" },
        { name: "bill", description: "addition: statements" },
      ],
      components: {
        securitySchemes: {
          payKey: {
            type: "apiKey",
            in: "header",
            name: "X-PAY-KEY",
            description: "with X-PAY-TIMESTAMP and X-PAY-SIGN (see the description)",
          },
        },
      },
      security: [{ payKey: [] }],
      externalDocs: { url: config.payPageUrl, description: "the payment page (paymentUrl is its path and query)" },
      webhooks: {
        payment: callback("payment", "PaymentOrder", "paymentStatus becomes 0 paid, 3 partially paid or 4 failed"),
        refund: callback("refund", "Refund", "refundStatus becomes 0 success, 4 failure or 5 rejected"),
        recharge: callback("recharge", "Recharge", "rechargeStatus becomes 0 success or 2 failure"),
        withdraw: callback("withdraw", "Withdrawal", "withdrawStatus becomes 0 success, 4 failure or 5 rejected"),
        settlement: callback("settlement", "Settlement", "addition: settlementStatus becomes 0 success, 4 failure or 5 rejected"),
      },
    } as FastifyDynamicSwaggerOptions["openapi"],
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`) },
  };
}
