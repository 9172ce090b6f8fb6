import { CONSOLE_ORDER_KINDS, type ConsoleOrderKind } from "../../store/consoleQueries.js";
import { escapeHtml as e } from "../../web/html.js";
import { checksummed, shortAddress, time } from "../format.js";
import { amountText, stateName, STATES, type OrderSummary, type ParsedOrdersQuery } from "../orders.js";
import { page, type ViewContext } from "./layout.js";

const kindKey = (k: ConsoleOrderKind) => `kind.${k}` as const;
export const kindName = (v: ViewContext, k: ConsoleOrderKind) => v.t(kindKey(k));

/** `?a=1&b=2` of the values, with `over` applied (undefined removes a key). */
export function queryOf(values: Record<string, string>, over: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...values, ...over })) if (v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function ordersPage(v: ViewContext, p: { query: ParsedOrdersQuery; rows: OrderSummary[]; nextCursor: string | null }): string {
  const { ctx, t, user } = v;
  const { kind, values } = p.query;
  const tabs = `<ul class="tabs" aria-label="${e(t("orders.kinds"))}">${CONSOLE_ORDER_KINDS.map((k) =>
    k === kind
      ? `<li><span aria-current="page">${e(kindName(v, k))}</span></li>`
      : `<li><a href="${e(ctx.base)}/orders?kind=${k}">${e(kindName(v, k))}</a></li>`,
  ).join("")}</ul>`;

  const option = (value: string, label: string, selected: boolean) =>
    `<option value="${e(value)}"${selected ? " selected" : ""}>${e(label)}</option>`;
  const chains = (user?.chainIds ?? []).map((id) => ctx.chain(id)!);
  const stateOptions = STATES[kind].map((s) => option(String(s), `${stateName(t, kind, s)} (${s})`, values.state === String(s))).join("");
  const chainOptions = chains
    .map((c) => option(String(c.chainId), `${c.name} (${c.chainId})`, values.chain === String(c.chainId)))
    .join("");
  const coinOptions = chains
    .flatMap((c) =>
      c.tokens.map((tk) =>
        option(
          `${c.chainId}:${tk.address.toLowerCase()}`,
          `${tk.symbol} · ${c.name}`,
          values.coin === `${c.chainId}:${tk.address.toLowerCase()}`,
        ),
      ),
    )
    .join("");
  const input = (name: string, label: string, type = "text", extra = "") =>
    `<div class="field"><label for="f-${name}">${e(label)}</label><input id="f-${name}" name="${name}" type="${type}" value="${e(
      values[name] ?? "",
    )}"${extra}></div>`;

  const form = `<form method="get" action="${e(ctx.base)}/orders" class="filters" role="search" aria-label="${e(t("orders.filters"))}">
  <input type="hidden" name="kind" value="${kind}">
  <div class="field"><label for="f-state">${e(t("field.state"))}</label><select id="f-state" name="state"><option value="">${e(
    t("filter.any"),
  )}</option>${stateOptions}</select></div>
  <div class="field"><label for="f-chain">${e(t("field.chain"))}</label><select id="f-chain" name="chain"><option value="">${e(
    t("filter.any"),
  )}</option>${chainOptions}</select></div>
  <div class="field"><label for="f-coin">${e(t("field.coin"))}</label><select id="f-coin" name="coin"><option value="">${e(
    t("filter.any"),
  )}</option>${coinOptions}</select></div>
  ${input("from", t("filter.from"), "date")}
  ${input("to", t("filter.to"), "date")}
  ${input("ref", t("filter.ref"), "text", ' maxlength="128" autocomplete="off"')}
  ${input("tx", t("filter.tx"), "text", ' maxlength="66" autocomplete="off" spellcheck="false"')}
  ${input("q", t("filter.search"), "search", ' maxlength="100"')}
  <div class="actions"><button type="submit" class="primary">${e(t("filter.apply"))}</button>
  <a href="${e(ctx.base)}/orders?kind=${kind}">${e(t("filter.reset"))}</a>
  <a href="${e(ctx.base)}/orders.csv${e(queryOf(values))}" download>${e(t("orders.csv"))}</a></div>
</form>`;

  const errors = p.query.errors.length
    ? `<p class="warning" role="alert">${p.query.errors.map((k) => e(t(k as Parameters<typeof t>[0]))).join(" ")}</p>`
    : "";
  const counterpartyHead = kind === "payment" ? t("field.payer") : kind === "recharge" ? t("field.from") : t("field.recipient");
  const rows = p.rows
    .map((r) => {
      const href = `${ctx.base}/orders/${r.kind}/${encodeURIComponent(r.id)}`;
      const amount =
        r.kind === "payment" && r.paid !== null && r.paid !== r.amount
          ? `${e(amountText(r, r.amount))} <span class="muted">(${e(t("orders.paidShort", { paid: amountText(r, r.paid) }))})</span>`
          : e(amountText(r, r.amount));
      return `<tr>
  <td><a href="${e(href)}"><code>${e(r.id)}</code></a></td>
  <td>${e(r.merchantRef)}</td>
  <td class="num">${amount}</td>
  <td><span class="state s${r.status < 0 ? "neg" : r.status}">${e(stateName(t, r.kind, r.status))}</span></td>
  <td>${e(ctx.chain(r.chainId)?.name ?? String(r.chainId))}</td>
  <td>${r.counterparty ? `<code title="${e(checksummed(r.counterparty))}">${e(shortAddress(checksummed(r.counterparty)))}</code>` : ""}</td>
  <td>${time(r.createdAt)}</td>
</tr>`;
    })
    .join("");
  const table = `<div class="table-wrap" tabindex="0"><table class="orders">
  <caption class="visually-hidden">${e(kindName(v, kind))}</caption>
  <thead><tr><th scope="col">${e(t("field.id"))}</th><th scope="col">${e(
    t(kind === "recharge" ? "field.user" : "field.merchantRef"),
  )}</th><th scope="col" class="num">${e(t("field.amount"))}</th><th scope="col">${e(t("field.state"))}</th><th scope="col">${e(
    t("field.chain"),
  )}</th><th scope="col">${e(counterpartyHead)}</th><th scope="col">${e(t("field.created"))}</th></tr></thead>
  <tbody>${rows || `<tr><td colspan="7">${e(t("orders.none"))}</td></tr>`}</tbody>
</table></div>`;
  const pager = `<nav class="pager" aria-label="${e(t("orders.pages"))}">${
    values.before || p.query.before ? `<a href="${e(ctx.base)}/orders${e(queryOf(values))}">${e(t("orders.first"))}</a>` : ""
  }${
    p.nextCursor
      ? ` <a href="${e(ctx.base)}/orders${e(queryOf(values, { before: p.nextCursor }))}" rel="next">${e(t("orders.next"))}</a>`
      : ""
  }</nav>`;

  return page(v, { title: t("orders.title"), nav: "orders", wide: true, body: `${tabs}${form}${errors}${table}${pager}` });
}
