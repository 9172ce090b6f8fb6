import { formatAmount } from "../../domain/money.js";
import type { ConsoleOrder, OrderTimelineEntry, PayoutChainTransaction } from "../../store/consoleQueries.js";
import type { PaymentTransferView } from "../../store/ingest.js";
import type { PayoutOrderRecord } from "../../store/payoutOrders.js";
import type { WebhookAttemptRecord, WebhookEventState } from "../../store/webhooks.js";
import { escapeHtml as e } from "../../web/html.js";
import { addressLink, time, txLink } from "../format.js";
import { amountText, stateName, summarize } from "../orders.js";
import { csrfField, page, type ViewContext } from "./layout.js";
import { kindName } from "./orders.js";
import { roleAllows } from "../../store/members.js";

export type OrderDetailData = {
  order: ConsoleOrder;
  timeline: OrderTimelineEntry[];
  webhooks: { events: WebhookEventState[]; attempts: WebhookAttemptRecord[] };
  /** payments */
  transfers?: { transfers: PaymentTransferView[]; lateAmount: bigint; overpaidAmount: bigint; unmatchedAmount: bigint };
  refunds?: PayoutOrderRecord[];
  /** payouts */
  transactions?: PayoutChainTransaction[];
  executed?: { txHash: string; blockNumber: bigint; status: string } | null;
  /** a fresh id for the refund form (a double submit finds the same refund) */
  refundRef?: string;
  /** the refund form's values and error after a refused submit */
  refundForm?: { amount: string; toAddress: string; reason: string; error: string };
};

const row = (label: string, value: string) => (value ? `<div><dt>${e(label)}</dt><dd>${value}</dd></div>` : "");

export function orderDetailPage(v: ViewContext, d: OrderDetailData): string {
  const { ctx, t, user } = v;
  const o = d.order;
  const s = summarize(ctx, o);
  const chainName = ctx.chain(s.chainId)?.name ?? String(s.chainId);
  const money = (x: bigint) => e(amountText(s, x));
  const facts: string[] = [
    row(t("field.id"), `<code>${e(s.id)}</code>`),
    row(t(o.kind === "recharge" ? "field.user" : "field.merchantRef"), e(s.merchantRef)),
    row(t("field.state"), `<span class="state">${e(stateName(t, o.kind, s.status))}</span> <span class="muted">(${s.status})</span>`),
    row(t("field.amount"), money(s.amount)),
    row(t("field.chain"), `${e(chainName)} <span class="muted">(${s.chainId})</span>`),
    row(t("field.token"), addressLink(ctx, s.chainId, s.token)),
    row(t("field.created"), time(s.createdAt)),
  ];
  let extra = "";
  switch (o.kind) {
    case "payment": {
      const p = o.order;
      facts.push(
        row(t("detail.seen"), money(p.seenAmount)),
        row(t("detail.paid"), money(p.paidAmount)),
        row(t("detail.refunded"), money(p.refundedAmount)),
        row(t("detail.receipt"), addressLink(ctx, p.chainId, p.receiptAddress)),
        row(t("field.payer"), addressLink(ctx, p.chainId, p.payerAddress)),
        row(t("detail.expires"), time(p.expiresAt)),
        row(t("detail.notifyUrl"), `<code>${e(p.notifyUrl)}</code>`),
      );
      extra = transfersSection(v, o, d) + refundsSection(v, o, d);
      break;
    }
    case "recharge": {
      const r = o.order;
      facts.push(
        row(t("field.from"), addressLink(ctx, r.chainId, r.fromAddress)),
        row(t("detail.rechargeAddress"), addressLink(ctx, r.chainId, r.toAddress)),
        row(t("detail.tx"), txLink(ctx, r.chainId, r.txHash)),
        row(t("detail.block"), e(r.blockNumber.toString())),
      );
      break;
    }
    default: {
      const p = o.order;
      facts.push(
        row(t("field.recipient"), addressLink(ctx, p.chainId, p.toAddress)),
        row(t("detail.payoutId"), e(p.payoutId.toString())),
        row(t("detail.deadline"), time(p.payoutDeadline)),
        row(
          t("detail.approvedBy"),
          p.approvedBy ? e(t(p.approvedBy === "gateway" ? "detail.approvedByGateway" : "detail.approvedByMerchant")) : "",
        ),
        row(t("detail.reason"), p.reason ? e(p.reason) : ""),
        row(t("detail.skipReason"), p.skipReason ? e(p.skipReason) : ""),
        row(t("detail.tx"), txLink(ctx, p.chainId, p.txHash)),
      );
      if (p.kind === "refund" && p.payOrderId) {
        facts.push(
          row(
            t("detail.payment"),
            `<a href="${e(ctx.base)}/orders/payment/${e(encodeURIComponent(p.payOrderId))}"><code>${e(p.payOrderId)}</code></a> ${e(
              p.merchantOrderId ?? "",
            )}`,
          ),
        );
      }
      if (p.status === 0) extra += `<p><a href="${e(ctx.base)}/approvals#o-${e(p.id)}">${e(t("detail.toApprovals"))}</a></p>`;
      extra += payoutChainSection(v, p, d);
    }
  }

  const timeline = d.timeline.length
    ? `<ol class="timeline">${d.timeline
        .map(
          (x) =>
            `<li>${time(x.at)} <span class="event-type">${e(x.type)}</span> ${
              x.to !== null
                ? `${x.from !== null ? `${e(stateName(t, o.kind, x.from))} → ` : ""}<strong>${e(stateName(t, o.kind, x.to))}</strong>`
                : ""
            }${typeof x.data.amount === "string" && x.type.endsWith("late_transfer") ? ` ${money(BigInt(x.data.amount))}` : ""}</li>`,
        )
        .join("")}</ol>`
    : `<p>${e(t("detail.noEvents"))}</p>`;

  const canResend = user && roleAllows(user.role, "operator");
  const resend = canResend
    ? `<form method="post" action="${e(ctx.base)}/orders/${o.kind}/${e(encodeURIComponent(s.id))}/resend" class="inline">${csrfField(
        user!,
      )}<button type="submit" id="resend">${e(t("detail.resend"))}</button></form>`
    : "";
  const events = d.webhooks.events
    .map(
      (w) =>
        `<tr><td><code>${e(w.eventId)}</code></td><td>${e(w.type)}</td><td><span class="wh ${w.status}">${e(
          t(`webhook.${w.status}`),
        )}</span></td><td class="num">${w.attempts}</td><td>${time(w.deliveredAt ?? w.nextAttemptAt)}</td><td>${e(
          w.lastError ?? "",
        )}</td></tr>`,
    )
    .join("");
  const attempts = d.webhooks.attempts
    .map(
      (a) =>
        `<tr><td>${time(a.attemptedAt)}</td><td>${e(a.eventType)} #${a.attemptNo}</td><td class="http">${
          a.httpStatus === null ? "—" : a.httpStatus
        }</td><td>${e(a.error ?? "")}</td><td class="num">${a.durationMs} ms</td><td><code class="url">${e(a.url ?? "")}</code></td></tr>`,
    )
    .join("");
  const callbacks = `<section aria-labelledby="h-callbacks">
  <h2 id="h-callbacks">${e(t("detail.callbacks"))}</h2>
  ${resend}
  <div class="table-wrap" tabindex="0"><table id="webhook-events"><caption>${e(t("detail.events"))}</caption>
    <thead><tr><th scope="col">${e(t("detail.eventId"))}</th><th scope="col">${e(t("detail.eventType"))}</th><th scope="col">${e(
      t("field.state"),
    )}</th><th scope="col" class="num">${e(t("detail.attempts"))}</th><th scope="col">${e(t("detail.when"))}</th><th scope="col">${e(
      t("detail.lastError"),
    )}</th></tr></thead>
    <tbody>${events || `<tr><td colspan="6">${e(t("detail.noCallbacks"))}</td></tr>`}</tbody></table></div>
  <div class="table-wrap" tabindex="0"><table id="webhook-attempts"><caption>${e(t("detail.attemptLog"))}</caption>
    <thead><tr><th scope="col">${e(t("detail.when"))}</th><th scope="col">${e(t("detail.eventType"))}</th><th scope="col">${e(
      t("detail.http"),
    )}</th><th scope="col">${e(t("detail.error"))}</th><th scope="col" class="num">${e(t("detail.duration"))}</th><th scope="col">${e(
      t("detail.url"),
    )}</th></tr></thead>
    <tbody>${attempts || `<tr><td colspan="6">${e(t("detail.noAttempts"))}</td></tr>`}</tbody></table></div>
</section>`;

  return page(v, {
    title: t("detail.title", { kind: t(`one.${o.kind}`), id: s.merchantRef || s.id }),
    nav: "orders",
    flash: v.flash,
    body: `<p><a href="${e(ctx.base)}/orders?kind=${o.kind}">${e(t("detail.back", { kind: kindName(v, o.kind) }))}</a></p>
<dl class="facts">${facts.join("")}</dl>
${extra}
<section aria-labelledby="h-timeline"><h2 id="h-timeline">${e(t("detail.timeline"))}</h2>${timeline}</section>
${callbacks}`,
  });
}

function transfersSection(v: ViewContext, o: Extract<ConsoleOrder, { kind: "payment" }>, d: OrderDetailData): string {
  const { ctx, t } = v;
  const p = o.order;
  const tr = d.transfers;
  if (!tr) return "";
  const rows = tr.transfers
    .map((x) => {
      const tk = ctx.token(p.chainId, x.token);
      const amount = tk ? `${formatAmount(BigInt(x.amountBaseUnits), tk.decimals)} ${tk.symbol}` : `${x.amountBaseUnits} (${x.token})`;
      const notes = [x.late ? t("detail.late") : "", x.tokenMatches ? "" : t("detail.wrongToken")].filter(Boolean).join(", ");
      return `<tr><td>${txLink(ctx, p.chainId, x.txHash)}</td><td>${addressLink(ctx, p.chainId, x.from)}</td><td class="num">${e(
        amount,
      )}</td><td class="num">${e(x.blockNumber)}</td><td class="num">${x.confirmations}</td><td>${e(t(`transfer.${x.status}`))}</td><td>${e(
        notes,
      )}</td></tr>`;
    })
    .join("");
  const money = (x: bigint) => `${formatAmount(x, p.tokenDecimals)} ${p.tokenSymbol}`;
  const notes = [
    tr.lateAmount > 0n ? t("detail.lateAmount", { amount: money(tr.lateAmount) }) : "",
    tr.overpaidAmount > 0n ? t("detail.overpaid", { amount: money(tr.overpaidAmount) }) : "",
    tr.unmatchedAmount > 0n ? t("detail.unmatched") : "",
  ].filter(Boolean);
  return `<section aria-labelledby="h-transfers"><h2 id="h-transfers">${e(t("detail.transfers"))}</h2>
  ${notes.length ? `<p class="warning">${notes.map(e).join(" ")}</p>` : ""}
  <div class="table-wrap" tabindex="0"><table id="transfers"><thead><tr><th scope="col">${e(t("detail.tx"))}</th><th scope="col">${e(
    t("field.from"),
  )}</th><th scope="col" class="num">${e(t("field.amount"))}</th><th scope="col" class="num">${e(
    t("detail.block"),
  )}</th><th scope="col" class="num">${e(t("detail.confirmations"))}</th><th scope="col">${e(t("field.state"))}</th><th scope="col">${e(
    t("detail.notes"),
  )}</th></tr></thead>
  <tbody>${rows || `<tr><td colspan="7">${e(t("detail.noTransfers"))}</td></tr>`}</tbody></table></div>
</section>`;
}

function refundsSection(v: ViewContext, o: Extract<ConsoleOrder, { kind: "payment" }>, d: OrderDetailData): string {
  const { ctx, t, user } = v;
  const p = o.order;
  const money = (x: bigint) => `${formatAmount(x, p.tokenDecimals)} ${p.tokenSymbol}`;
  const list = (d.refunds ?? [])
    .map(
      (r) =>
        `<li><a href="${e(ctx.base)}/orders/refund/${e(encodeURIComponent(r.id))}">${e(r.merchantRef)}</a> ${e(money(r.amount))} · ${e(
          stateName(t, "refund", r.status),
        )}</li>`,
    )
    .join("");
  const refundable = p.paidAmount - p.refundedAmount;
  let form = "";
  if (user && roleAllows(user.role, "operator") && refundable > 0n && d.refundRef) {
    const f = d.refundForm;
    form = `<form method="post" action="${e(ctx.base)}/orders/payment/${e(
      encodeURIComponent(p.id),
    )}/refund" class="card form" id="refund-form">
  <h3>${e(t("refund.title"))}</h3>
  ${csrfField(user)}<input type="hidden" name="ref" value="${e(d.refundRef)}">
  ${f?.error ? `<p class="error" role="alert" id="refund-error">${e(f.error)}</p>` : ""}
  <div class="field"><label for="refund-amount">${e(t("refund.amount", { symbol: p.tokenSymbol }))}</label>
    <input id="refund-amount" name="amount" inputmode="decimal" autocomplete="off" required value="${e(
      f?.amount ?? formatAmount(refundable, p.tokenDecimals),
    )}" aria-describedby="refund-max"></div>
  <p class="hint" id="refund-max">${e(t("refund.max", { amount: money(refundable) }))}</p>
  <div class="field"><label for="refund-to">${e(t("refund.to"))}</label>
    <input id="refund-to" name="toAddress" autocomplete="off" spellcheck="false" value="${e(f?.toAddress ?? p.payerAddress ?? "")}" ${
      p.payerAddress ? "" : "required"
    }></div>
  <div class="field"><label for="refund-reason">${e(t("refund.reason"))}</label>
    <input id="refund-reason" name="reason" maxlength="256" value="${e(f?.reason ?? "")}"></div>
  <p class="hint">${e(t("refund.hint"))}</p>
  <button type="submit" class="primary" id="refund-submit">${e(t("refund.submit"))}</button>
</form>`;
  }
  return `<section aria-labelledby="h-refunds"><h2 id="h-refunds">${e(t("detail.refunds"))}</h2>
  <p>${e(t("detail.refundable", { amount: money(refundable) }))}</p>
  ${list ? `<ul>${list}</ul>` : ""}
  ${form}
</section>`;
}

function payoutChainSection(v: ViewContext, p: PayoutOrderRecord, d: OrderDetailData): string {
  const { ctx, t } = v;
  const txs = (d.transactions ?? [])
    .map(
      (x) =>
        `<tr><td>${txLink(ctx, p.chainId, x.txHash)}</td><td class="num">${x.nonce}</td><td>${e(x.status)}</td><td>${time(
          x.sentAt,
        )}</td><td>${time(x.settledAt)}</td></tr>`,
    )
    .join("");
  const executed = d.executed
    ? `<p id="payout-executed">${e(t("detail.executed", { block: d.executed.blockNumber.toString(), status: d.executed.status }))} ${txLink(
        ctx,
        p.chainId,
        d.executed.txHash,
      )}</p>`
    : "";
  return `<section aria-labelledby="h-chain"><h2 id="h-chain">${e(t("detail.onChain"))}</h2>
  ${executed}
  <div class="table-wrap" tabindex="0"><table><thead><tr><th scope="col">${e(t("detail.tx"))}</th><th scope="col" class="num">${e(
    t("detail.nonce"),
  )}</th><th scope="col">${e(t("field.state"))}</th><th scope="col">${e(t("detail.sent"))}</th><th scope="col">${e(
    t("detail.settled"),
  )}</th></tr></thead>
  <tbody>${txs || `<tr><td colspan="5">${e(t("detail.noTransactions"))}</td></tr>`}</tbody></table></div>
</section>`;
}
