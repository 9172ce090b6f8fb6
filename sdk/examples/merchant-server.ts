/**
 * A merchant's shop server using the SDK: creates payment orders for checkouts and receives the
 * gateway's webhooks, verifying each one before trusting it.
 *
 *   PAY_BASE_URL=http://127.0.0.1:8080 PAY_API_KEY=pk_… PAY_API_SECRET=sk_… PAY_WEBHOOK_SECRET=whsec_… \
 *   PUBLIC_URL=https://shop.example.com PORT=3000 npx tsx sdk/examples/merchant-server.ts
 *
 *   curl -XPOST localhost:3000/checkout -d '{"orderId":"A-1001","amount":"12.50","token":"USDT","chainId":31337}'
 *
 * In your own code import from "@evm-pay/sdk" instead of "../src/index.js".
 */
import http from "node:http";
import { pathToFileURL } from "node:url";
import { createPayClient, PayApiError, PaymentState, verifyWebhook, WebhookVerificationError, type PayClient, type WebhookEvent } from "../src/index.js";

export type ShopOrder = { orderId: string; payOrderId: string; paymentUrl: string; state: number; events: string[] };

export type MerchantServer = {
  server: http.Server;
  /** the shop's orders by its own order id, with the webhook event types received for each */
  orders: Map<string, ShopOrder>;
  /** every verified webhook, in arrival order (duplicates by eventId are acknowledged but not re-applied) */
  received: WebhookEvent[];
  /** deliveries refused (bad signature, stale timestamp, …) */
  refused: string[];
};

export function createMerchantServer(o: { client: PayClient; webhookSecret: string; publicUrl: string; chainId?: number }): MerchantServer {
  const orders = new Map<string, ShopOrder>();
  const received: WebhookEvent[] = [];
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
      if (req.method === "POST" && url.pathname === "/webhooks/pay") {
        const raw = await readBody(req);
        let event: WebhookEvent<{ merchantOrderId?: string; state?: number }>;
        try {
          event = verifyWebhook({ secret: o.webhookSecret, headers: req.headers, body: raw });
        } catch (e) {
          if (!(e instanceof WebhookVerificationError)) throw e;
          refused.push(e.message);
          return json(res, 400, { error: e.message });
        }
        // retries and manual re-sends carry the same event id: apply each event once
        if (!seen.has(event.eventId)) {
          seen.add(event.eventId);
          received.push(event);
          const order = event.data.merchantOrderId ? orders.get(event.data.merchantOrderId) : undefined;
          if (order) {
            order.events.push(event.type);
            if (typeof event.data.state === "number") order.state = event.data.state;
            // a real shop ships the goods here when state is PaymentState.Success, after re-reading the
            // order with client.payment.detail (seed 002: trust the query, not only the notification)
          }
        }
        return json(res, 200, { ok: true });
      }
      if (req.method === "POST" && url.pathname === "/checkout") {
        const body = JSON.parse((await readBody(req)).toString("utf8") || "{}") as { orderId: string; amount: string; token?: string; chainId?: number };
        const order = await o.client.payment.create({
          merchantOrderId: body.orderId,
          chainId: body.chainId ?? o.chainId ?? 31337,
          token: body.token ?? "USDT",
          amount: body.amount,
          notifyUrl: `${o.publicUrl}/webhooks/pay`,
          redirectionUrl: `${o.publicUrl}/thanks?order=${encodeURIComponent(body.orderId)}`,
        });
        const shop: ShopOrder = orders.get(body.orderId) ?? { orderId: body.orderId, payOrderId: order.payOrderId, paymentUrl: order.paymentUrl, state: order.state, events: [] };
        orders.set(body.orderId, shop);
        return json(res, 200, { payOrderId: order.payOrderId, paymentUrl: order.paymentUrl, receiptAddress: order.receiptAddress, amount: order.amount, token: order.tokenSymbol });
      }
      if (req.method === "GET" && url.pathname.startsWith("/orders/")) {
        const order = orders.get(decodeURIComponent(url.pathname.slice("/orders/".length)));
        if (!order) return json(res, 404, { error: "no such order" });
        const live = await o.client.payment.detail({ payOrderId: order.payOrderId });
        return json(res, 200, { ...order, state: live.state, paid: live.state === PaymentState.Success, paidAmount: live.paidAmount });
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
  const client = createPayClient({ baseUrl: need("PAY_BASE_URL"), apiKey: need("PAY_API_KEY"), apiSecret: need("PAY_API_SECRET") });
  const port = Number(process.env.PORT ?? 3000);
  const { server } = createMerchantServer({ client, webhookSecret: need("PAY_WEBHOOK_SECRET"), publicUrl: process.env.PUBLIC_URL ?? `http://127.0.0.1:${port}` });
  server.listen(port, "127.0.0.1", () => console.log(`merchant server on http://127.0.0.1:${port} (POST /checkout, POST /webhooks/pay, GET /orders/:id)`));
}
