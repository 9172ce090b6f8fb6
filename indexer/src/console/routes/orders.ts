import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isAddress } from "viem";
import { IllegalTransitionError, InvalidAmountError } from "../../domain/errors.js";
import { newId } from "../../domain/ids.js";
import { formatAmount, parseAmount } from "../../domain/money.js";
import {
  CONSOLE_ORDER_KINDS,
  findConsoleOrder,
  findPayoutExecuted,
  listConsoleOrders,
  listOrderTimeline,
  listPayoutTransactions,
  listRefundsOfPayment,
  type ConsoleOrder,
  type ConsoleOrderKind,
} from "../../store/consoleQueries.js";
import { IdempotencyConflictError, RecipientRefusedError, RefundAddressRequiredError } from "../../store/errors.js";
import { paymentTransfersOf } from "../../store/ingest.js";
import { requeuePaymentNotification } from "../../store/paymentOrders.js";
import { requeuePayoutNotification } from "../../store/payoutOrders.js";
import { requeueRechargeNotification } from "../../store/rechargeOrders.js";
import { payoutRecipientConflict } from "../../store/recipients.js";
import { createRefundOrder } from "../../store/refundOrders.js";
import { csvField } from "../../store/statements.js";
import { listWebhookLog } from "../../store/webhooks.js";
import { utcText } from "../format.js";
import { amountText, parseOrdersQuery, stateName, summarize, type OrdersQuery } from "../orders.js";
import type { ConsoleRouteKit } from "../plugin.js";
import { ConsoleError, requireRole, type ConsoleUser } from "../session.js";
import { orderDetailPage, type OrderDetailData } from "../views/orderDetail.js";
import { ordersPage } from "../views/orders.js";

const PAGE_SIZE = 50;
/** the most rows one CSV export holds (a bigger export: narrow the filters or use the `bill` statement) */
const CSV_MAX_ROWS = 100_000;
const CSV_COLUMNS = [
  "kind",
  "id",
  "merchantRef",
  "state",
  "stateName",
  "chainId",
  "token",
  "tokenSymbol",
  "amount",
  "amountBaseUnits",
  "paidBaseUnits",
  "counterparty",
  "txHash",
  "createdAt",
];

type OrderParams = { kind: string; id: string };

/**
 * - `GET /orders?kind=&state=&chain=&coin=&from=&to=&ref=&tx=&q=&before=`: one kind's orders, newest first
 * - `GET /orders.csv?…`: the same filters as CSV
 * - `GET /orders/:kind/:id`: the order, its timeline, transfers or payout transactions, callbacks
 * - `POST /orders/:kind/:id/resend` (operator): queue the order's latest webhook again
 * - `POST /orders/payment/:id/refund` (operator): a refund of part or all of a payment, pending approval
 */
export function orderRoutes(kit: ConsoleRouteKit) {
  const { ctx } = kit;

  const orderOf = async (user: ConsoleUser, params: OrderParams): Promise<ConsoleOrder> => {
    const kind = CONSOLE_ORDER_KINDS.find((k) => k === params.kind);
    const found = kind && params.id.length <= 64 ? await findConsoleOrder(ctx.db, kind, user.merchantId, params.id, user.chainIds) : null;
    // another merchant's order, another view's chain and no order at all look the same
    if (!found) throw new ConsoleError(404, "error.notFound");
    return found;
  };

  const detail = async (
    request: FastifyRequest,
    reply: FastifyReply,
    o: ConsoleOrder,
    status = 200,
    refundForm?: OrderDetailData["refundForm"],
  ) => {
    const user = kit.user(request);
    // a payout's events are its application's (aggregate = the public refundId / withdrawId / settlementId);
    // a payment's and a recharge's are the order's own
    const aggregateId = o.kind === "payment" || o.kind === "recharge" ? o.order.id : o.order.no.toString();
    const [timeline, webhooks] = await Promise.all([
      listOrderTimeline(ctx.db, user.merchantId, o.kind, aggregateId),
      listWebhookLog(ctx.db, { merchantId: user.merchantId, aggregateKind: o.kind, aggregateId }),
    ]);
    const d: OrderDetailData = { order: o, timeline, webhooks, refundForm };
    if (o.kind === "payment") {
      [d.transfers, d.refunds] = await Promise.all([
        paymentTransfersOf(ctx.db, o.order),
        listRefundsOfPayment(ctx.db, user.merchantId, o.order.id),
      ]);
      d.refundRef = newId();
    } else if (o.kind !== "recharge") {
      [d.transactions, d.executed] = await Promise.all([
        listPayoutTransactions(ctx.db, o.order),
        findPayoutExecuted(ctx.db, { chainId: o.order.chainId, merchantId: user.merchantId, payoutId: o.order.payoutId }),
      ]);
    }
    return kit.html(reply, status, orderDetailPage(await kit.view(request), d));
  };

  return async function (app: FastifyInstance) {
    app.get<{ Querystring: OrdersQuery }>("/orders", async (request, reply) => {
      const user = kit.user(request);
      const q = parseOrdersQuery(request.query, user.chainIds);
      const page = await listConsoleOrders(ctx.db, q.kind, user.merchantId, q.filter, { before: q.before, limit: PAGE_SIZE });
      const v = await kit.view(request);
      return kit.html(reply, 200, ordersPage(v, { query: q, rows: page.list.map((o) => summarize(ctx, o)), nextCursor: page.nextCursor }));
    });

    app.get<{ Querystring: OrdersQuery }>("/orders.csv", async (request, reply) => {
      const user = kit.user(request);
      const q = parseOrdersQuery({ ...request.query, before: undefined }, user.chainIds);
      const t = kit.t(request);
      const lines = [CSV_COLUMNS.join(",")];
      let before: string | undefined;
      for (let n = 0; n < CSV_MAX_ROWS;) {
        const page = await listConsoleOrders(ctx.db, q.kind, user.merchantId, q.filter, { before, limit: 1000 });
        for (const o of page.list) {
          const s = summarize(ctx, o);
          const amount = amountText(s, s.amount).split(" ")[0];
          lines.push(
            [
              s.kind,
              s.id,
              s.merchantRef,
              s.status,
              stateName(t, s.kind, s.status),
              s.chainId,
              s.token,
              s.symbol,
              amount,
              s.amount,
              s.paid ?? "",
              s.counterparty ?? "",
              s.txHash ?? "",
              utcText(s.createdAt),
            ]
              .map(csvField)
              .join(","),
          );
        }
        n += page.list.length;
        if (!page.nextCursor) break;
        before = page.nextCursor;
      }
      const name = `${q.kind}-orders-${user.merchantId}-${new Date().toISOString().slice(0, 10)}.csv`;
      return reply
        .headers({
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
          "content-disposition": `attachment; filename="${name}"`,
        })
        .type("text/csv; charset=utf-8")
        .send(lines.join("\r\n") + "\r\n");
    });

    app.get<{ Params: OrderParams }>("/orders/:kind/:id", async (request, reply) => {
      const user = kit.user(request);
      return detail(request, reply, await orderOf(user, request.params));
    });

    app.post<{ Params: OrderParams }>("/orders/:kind/:id/resend", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "operator");
      const o = await orderOf(user, request.params);
      const kind = o.kind as ConsoleOrderKind;
      if (o.kind === "payment") await requeuePaymentNotification(ctx.db, user.merchantId, { payOrderId: o.order.id });
      else if (o.kind === "recharge") await requeueRechargeNotification(ctx.db, user.merchantId, o.order.no!);
      else await requeuePayoutNotification(ctx.db, o.kind, user.merchantId, { no: o.order.no });
      ctx.wakeNotifier();
      request.log.info({ merchantId: user.merchantId.toString(), kind, id: o.order.id, by: user.address }, "console webhook re-send");
      return kit.done(reply, `/orders/${kind}/${encodeURIComponent(o.order.id)}`, "resent", "#h-callbacks");
    });

    app.post<{ Params: { id: string }; Body: Record<string, string | undefined> }>("/orders/payment/:id/refund", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "operator");
      const o = await orderOf(user, { kind: "payment", id: request.params.id });
      if (o.kind !== "payment") throw new ConsoleError(404, "error.notFound");
      const p = o.order;
      const t = kit.t(request);
      const b = request.body ?? {};
      const form = {
        amount: String(b.amount ?? "")
          .trim()
          .slice(0, 100),
        toAddress: String(b.toAddress ?? "")
          .trim()
          .slice(0, 64),
        reason: String(b.reason ?? "")
          .trim()
          .slice(0, 256),
      };
      const refuse = (message: string) => detail(request, reply, o, 400, { ...form, error: message });
      const ref = String(b.ref ?? "");
      if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(ref)) return refuse(t("refund.expired"));
      let amount: bigint;
      try {
        amount = parseAmount(form.amount, p.tokenDecimals);
      } catch (e) {
        if (e instanceof InvalidAmountError) return refuse(t("refund.badAmount", { decimals: p.tokenDecimals }));
        throw e;
      }
      if (amount === 0n) return refuse(t("refund.badAmount", { decimals: p.tokenDecimals }));
      const refundable = p.paidAmount - p.refundedAmount;
      if (amount > refundable)
        return refuse(t("refund.tooMuch", { amount: `${formatAmount(refundable, p.tokenDecimals)} ${p.tokenSymbol}` }));
      if (form.toAddress && !isAddress(form.toAddress, { strict: false })) return refuse(t("refund.badAddress"));
      const requestHash = createHash("sha256")
        .update(JSON.stringify([p.id, amount.toString(), form.toAddress.toLowerCase() || null, form.reason || null]))
        .digest("hex");
      try {
        const { refund } = await createRefundOrder(ctx.db, {
          merchantId: user.merchantId,
          payment: { payOrderId: p.id },
          // the form's id makes a double submit find the same refund instead of a second one
          outRefundNo: `console:${ref}`,
          requestHash,
          amount: () => amount,
          toAddress: form.toAddress || null,
          checkRecipient: async (tx, _payment, to) => {
            const why = await payoutRecipientConflict(tx, ctx.config.chains, to);
            if (why) throw new RecipientRefusedError(why);
          },
          reason: form.reason || null,
          notifyUrl: null,
          payoutDeadlineSeconds: ctx.config.payoutDeadlineSeconds,
        });
        request.log.info(
          { merchantId: user.merchantId.toString(), refund: refund.lines[0]!.id, by: user.address },
          "console refund created",
        );
        return kit.done(reply, `/orders/refund/${encodeURIComponent(refund.lines[0]!.id)}`, "refundCreated");
      } catch (e) {
        if (e instanceof IdempotencyConflictError) return refuse(t("refund.expired"));
        if (e instanceof RefundAddressRequiredError) return refuse(t("refund.needAddress"));
        if (e instanceof RecipientRefusedError) return refuse(t("refund.recipientRefused", { why: e.why }));
        if (e instanceof IllegalTransitionError) return refuse(t("refund.notAllowed"));
        throw e;
      }
    });
  };
}
