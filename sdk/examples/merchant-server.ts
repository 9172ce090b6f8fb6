/**
 * A merchant's shop server using the SDK: creates payment orders for checkouts and receives the gateway's
 * callbacks (Pay Protocol's), verifying each one before trusting it and acknowledging it with `success`.
 *
 *   PAY_BASE_URL=http://127.0.0.1:8080 PAY_API_KEY=pk_… PAY_API_SECRET=sk_… PAY_WEBHOOK_SECRET=whsec_… \
 *   PUBLIC_URL=https://shop.example.com PORT=3000 npx tsx sdk/examples/merchant-server.ts
 *
 *   curl -XPOST localhost:3000/checkout -d '{"orderId":"A-1001","amount":"12.50","symbol":"USDT","chainId":31337}'
 *
 * In your own code import from "@evm-pay/sdk" instead of "../src/index.js".
 */
import http from "node:http";
import { pathToFileURL } from "node:url";
import {
  CALLBACK_ACK,
  createPayClient,
  PayApiError,
  PaymentStatus,
  verifyWebhook,
  WebhookVerificationError,
  type PayClient,
  type WebhookEvent,
} from "../src/index.js";

export type ShopOrder = { orderId: string; outPaymentNo: string; paymentLink: string; paymentStatus: number; callbacks: number[] };
/** What a callback was about, from its body's fields. */
export type CallbackKind = "payment" | "refund" | "withdrawal" | "settlement" | "recharge" | "unknown";
export type ReceivedCallback = WebhookEvent & { kind: CallbackKind };

export type MerchantServer = {
  server: http.Server;
  /** the shop's orders by its own order id (outTradeNo), with the paymentStatus of every callback received for each */
  orders: Map<string, ShopOrder>;
  /** every verified callback, in arrival order (duplicates by eventId are acknowledged but not re-applied) */
  received: ReceivedCallback[];
  /** deliveries refused (bad signature, stale timestamp, …) */
  refused: string[];
};

export const callbackKindOf = (b: Record<string, unknown>): CallbackKind =>
  "paymentStatus" in b
    ? "payment"
    : "refundId" in b
      ? "refund"
      : "withdrawId" in b
        ? "withdrawal"
        : "settlementId" in b
          ? "settlement"
          : "rechargeId" in b
            ? "recharge"
            : "unknown";

export function createMerchantServer(o: {
  client: PayClient;
  /** verifies X-PAY-SIGN (Pay Protocol's rule) */
  apiSecret: string;
  /** and the Standard Webhooks signature, when given */
  webhookSecret?: string;
  publicUrl: string;
  chainId?: number;
}): MerchantServer {
  const orders = new Map<string, ShopOrder>();
  const received: ReceivedCallback[] = [];
  const refused: string[] = [];
  const seen = new Set<string>();

  const readBody = async (req: http.IncomingMessage) => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 1 << 20) throw new Error("body too large");
      chunks.push(c as Buffer);
    }
    // keep the raw bytes: the signature covers them exactly
    return Buffer.concat(chunks);
  };
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (req.method === "POST" && url.pathname === "/callbacks/pay") {
        const raw = await readBody(req);
        let event: WebhookEvent;
        try {
          // req.url is the path and query the gateway signed (the notifyUrl's)
          event = verifyWebhook({
            apiSecret: o.apiSecret,
            requestPath: req.url ?? "/",
            secret: o.webhookSecret,
            headers: req.headers,
            body: raw,
          });
        } catch (e) {
          if (!(e instanceof WebhookVerificationError)) throw e;
          refused.push(e.message);
          return json(res, 400, { error: e.message });
        }
        // retries and manual re-sends carry the same event id: apply each event once
        if (!seen.has(event.eventId)) {
          seen.add(event.eventId);
          const kind = callbackKindOf(event.data);
          received.push({ ...event, kind });
          const order = kind === "payment" ? orders.get(String(event.data.outTradeNo)) : undefined;
          if (order) {
            order.paymentStatus = Number(event.data.paymentStatus);
            order.callbacks.push(order.paymentStatus);
            // a real shop ships the goods here when paymentStatus is PaymentStatus.Paid and quoteAmount is the
            // order's (seed 000: check the callback's values against the order)
          }
        }
        // Pay Protocol's acknowledgement: HTTP 200 and the body `success`; anything else is retried
        res.writeHead(200, { "content-type": "text/plain" }).end(CALLBACK_ACK);
        return;
      }
      if (req.method === "POST" && url.pathname === "/checkout") {
        const body = JSON.parse((await readBody(req)).toString("utf8") || "{}") as {
          orderId: string;
          amount: string;
          symbol?: string;
          chainId?: number;
        };
        const order = await o.client.payment.create({
          chainId: body.chainId ?? o.chainId ?? 31337,
          outTradeNo: body.orderId,
          description: `shop order ${body.orderId}`,
          isLegalTender: 0,
          quoteCurrencySymbol: body.symbol ?? "USDT",
          quoteAmount: body.amount,
          notifyUrl: `${o.publicUrl}/callbacks/pay`,
          redirectionUrl: `${o.publicUrl}/thanks?order=${encodeURIComponent(body.orderId)}`,
        });
        const shop: ShopOrder = orders.get(body.orderId) ?? {
          orderId: body.orderId,
          outPaymentNo: order.outPaymentNo,
          paymentLink: order.paymentLink,
          paymentStatus: order.paymentStatus,
          callbacks: [],
        };
        orders.set(body.orderId, shop);
        return json(res, 200, {
          outPaymentNo: order.outPaymentNo,
          paymentLink: order.paymentLink,
          userWalletAddress: order.userWalletAddress,
          expectedAmount: order.expectedAmount,
          symbol: order.symbol,
          decimals: order.decimals,
        });
      }
      if (req.method === "GET" && url.pathname.startsWith("/orders/")) {
        const order = orders.get(decodeURIComponent(url.pathname.slice("/orders/".length)));
        if (!order) return json(res, 404, { error: "no such order" });
        // seed 002: trust the query, not only the notification
        const live = await o.client.payment.detail({ outTradeNo: order.orderId, outPaymentNo: order.outPaymentNo });
        return json(res, 200, {
          ...order,
          paymentStatus: live.paymentStatus,
          paid: live.paymentStatus === PaymentStatus.Paid,
          settlementAmount: live.settlementAmount,
        });
      }
      json(res, 404, { error: "not found" });
    } catch (e) {
      if (e instanceof PayApiError) return json(res, e.httpStatus >= 500 || e.httpStatus === 0 ? 502 : 400, { error: e.msg, code: e.code });
      json(res, 500, { error: "internal error" });
    }
  });
  return { server, orders, received, refused };
}

// run directly: configuration from the environment
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const need = (name: string) => process.env[name] ?? (console.error(`set ${name}`), process.exit(2));
  const apiSecret = need("PAY_API_SECRET");
  const client = createPayClient({ baseUrl: need("PAY_BASE_URL"), apiKey: need("PAY_API_KEY"), apiSecret });
  const port = Number(process.env.PORT ?? 3000);
  const { server } = createMerchantServer({
    client,
    apiSecret,
    webhookSecret: process.env.PAY_WEBHOOK_SECRET,
    publicUrl: process.env.PUBLIC_URL ?? `http://127.0.0.1:${port}`,
  });
  server.listen(port, "127.0.0.1", () =>
    console.log(`merchant server on http://127.0.0.1:${port} (POST /checkout, POST /callbacks/pay, GET /orders/:id)`),
  );
}
