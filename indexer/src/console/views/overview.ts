import { formatAmount } from "../../domain/money.js";
import type { DailyVolume, MerchantWebhookBacklog } from "../../store/consoleQueries.js";
import type { PayoutOrderKind } from "../../store/payoutOrders.js";
import { escapeHtml as e } from "../../web/html.js";
import { barChart } from "../chart.js";
import type { DoctorFinding } from "../context.js";
import { tokenOf } from "../format.js";
import type { ChainVault } from "../vault.js";
import { page, type ViewContext } from "./layout.js";

export type OverviewData = {
  days: number;
  vaults: ChainVault[];
  /** UTC days of the period, oldest first */
  dayList: string[];
  volume: DailyVolume[];
  pending: Record<PayoutOrderKind, number>;
  webhooks: MerchantWebhookBacklog;
  /** null: the doctor module is not wired in this gateway */
  doctor: DoctorFinding[] | null;
  doctorError: boolean;
};

export const PERIODS = [7, 30, 90] as const;

export function overviewPage(v: ViewContext, d: OverviewData): string {
  const { ctx, t } = v;
  const today = d.dayList[d.dayList.length - 1]!;

  // per chain and token: today's and the period's totals, and one chart each
  const series = new Map<string, { chainId: number; token: string; byDay: Map<string, bigint>; count: number }>();
  for (const row of d.volume) {
    const key = `${row.chainId}:${row.token}`;
    let s = series.get(key);
    if (!s) series.set(key, (s = { chainId: row.chainId, token: row.token, byDay: new Map(), count: 0 }));
    s.byDay.set(row.day, (s.byDay.get(row.day) ?? 0n) + row.amount);
    s.count += row.count;
  }
  const volumeRows = [...series.values()].map((s, i) => {
    const tk = tokenOf(ctx, s.chainId, s.token);
    const fmt = (x: bigint) => `${formatAmount(x, tk.decimals)} ${tk.symbol}`;
    const total = [...s.byDay.values()].reduce((a, b) => a + b, 0n);
    const max = [...s.byDay.values()].reduce((a, b) => (b > a ? b : a), 0n);
    const chainName = ctx.chain(s.chainId)?.name ?? String(s.chainId);
    return {
      row: `<tr><th scope="row">${e(tk.symbol)} <span class="muted">${e(chainName)}</span></th><td class="num">${e(
        fmt(s.byDay.get(today) ?? 0n),
      )}</td><td class="num">${e(fmt(total))}</td><td class="num">${s.count}</td></tr>`,
      chart: `<figure class="chart-box">${barChart({
        id: `chart-${i}`,
        title: t("overview.chartTitle", { token: tk.symbol, chain: chainName, days: d.days }),
        description: t("overview.chartDesc", { total: fmt(total), max: fmt(max) }),
        maxText: fmt(max),
        points: d.dayList.map((day) => ({ label: day, value: s.byDay.get(day) ?? 0n, text: fmt(s.byDay.get(day) ?? 0n) })),
      })}<figcaption>${e(t("overview.chartTitle", { token: tk.symbol, chain: chainName, days: d.days }))}</figcaption></figure>`,
    };
  });

  const periodLinks = `<ul class="tabs" aria-label="${e(t("overview.period"))}">${PERIODS.map((p) =>
    p === d.days
      ? `<li><span aria-current="true">${e(t("overview.days", { days: p }))}</span></li>`
      : `<li><a href="${e(ctx.base)}/overview?days=${p}">${e(t("overview.days", { days: p }))}</a></li>`,
  ).join("")}</ul>`;

  const vaultRows = d.vaults
    .map((c) => {
      if (c.error) {
        return `<tr><th scope="row">${e(c.name)}</th><td colspan="3">${e(
          t(c.error === "no_rpc" ? "overview.noRpc" : "overview.rpcFailed"),
        )}</td></tr>`;
      }
      return c.tokens
        .map(
          (x, i) =>
            `<tr>${i === 0 ? `<th scope="rowgroup" rowspan="${c.tokens.length}">${e(c.name)}</th>` : ""}<td>${e(
              x.token.symbol,
            )}</td><td class="num">${e(formatAmount(x.balance, x.token.decimals))}</td><td class="num">${e(
              formatAmount(x.fees, x.token.decimals),
            )}</td></tr>`,
        )
        .join("");
    })
    .join("");

  const pendingTotal = d.pending.refund + d.pending.withdrawal + d.pending.settlement;
  const doctor =
    d.doctor === null
      ? `<p class="muted">${e(t(d.doctorError ? "overview.doctorFailed" : "overview.doctorMissing"))}</p>`
      : d.doctor.length === 0
        ? `<p>${e(t("overview.doctorClean"))}</p>`
        : `<ul class="findings">${d.doctor
            .map(
              (f) =>
                `<li class="finding ${e(f.severity)}"><strong>${e(t(`doctor.${f.severity}`))}</strong> ${e(f.message)}${
                  f.fix ? `<br><span class="muted">${e(f.fix)}</span>` : ""
                }</li>`,
            )
            .join("")}</ul>`;

  return page(v, {
    title: t("overview.title"),
    nav: "overview",
    body: `<div class="grid">
<section class="card" aria-labelledby="h-pending">
  <h2 id="h-pending">${e(t("overview.pending"))}</h2>
  <p class="big">${pendingTotal}</p>
  <p>${e(
    t("overview.pendingDetail", { refunds: d.pending.refund, withdrawals: d.pending.withdrawal, settlements: d.pending.settlement }),
  )}</p>
  <p><a href="${e(ctx.base)}/approvals">${e(t("overview.toApprovals"))}</a></p>
</section>
<section class="card" aria-labelledby="h-webhooks">
  <h2 id="h-webhooks">${e(t("overview.webhooks"))}</h2>
  <p class="big">${d.webhooks.due + d.webhooks.retrying}</p>
  <p>${e(t("overview.webhooksDetail", { due: d.webhooks.due, retrying: d.webhooks.retrying, dead: d.webhooks.dead }))}</p>
  ${d.webhooks.due > 0 ? `<p>${e(t("overview.webhooksLag", { seconds: Math.round(d.webhooks.oldestDueMs / 1000) }))}</p>` : ""}
</section>
<section class="card" aria-labelledby="h-doctor" id="doctor">
  <h2 id="h-doctor">${e(t("overview.doctor"))}</h2>
  ${doctor}
</section>
</div>
<section aria-labelledby="h-vault">
  <h2 id="h-vault">${e(t("overview.vault"))}</h2>
  <div class="table-wrap" tabindex="0"><table>
    <thead><tr><th scope="col">${e(t("field.chain"))}</th><th scope="col">${e(t("field.token"))}</th><th scope="col" class="num">${e(
      t("overview.balance"),
    )}</th><th scope="col" class="num">${e(t("overview.fees"))}</th></tr></thead>
    <tbody>${vaultRows || `<tr><td colspan="4">${e(t("overview.noChains"))}</td></tr>`}</tbody>
  </table></div>
  <p class="hint">${e(t("overview.vaultHint"))}</p>
</section>
<section aria-labelledby="h-volume">
  <h2 id="h-volume">${e(t("overview.volume"))}</h2>
  ${periodLinks}
  <div class="table-wrap" tabindex="0"><table>
    <thead><tr><th scope="col">${e(t("field.token"))}</th><th scope="col" class="num">${e(
      t("overview.today"),
    )}</th><th scope="col" class="num">${e(t("overview.periodTotal", { days: d.days }))}</th><th scope="col" class="num">${e(
      t("overview.transfers"),
    )}</th></tr></thead>
    <tbody>${volumeRows.map((r) => r.row).join("") || `<tr><td colspan="4">${e(t("overview.noVolume"))}</td></tr>`}</tbody>
  </table></div>
  <div class="charts">${volumeRows.map((r) => r.chart).join("")}</div>
</section>`,
  });
}
