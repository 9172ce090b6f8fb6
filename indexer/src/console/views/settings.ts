import { formatAmount } from "../../domain/money.js";
import { formatTolerancePercent, MAX_TOLERANCE_BPS } from "../../pricing/tolerance.js";
import type { ApiKeyInfo } from "../../store/apiKeys.js";
import type { MerchantSettings } from "../../store/merchants.js";
import type { MerchantQrListing } from "../../store/merchantQrAdmin.js";
import { CONSOLE_ROLES, roleAllows, type ConsoleMemberRecord } from "../../store/members.js";
import { escapeHtml as e } from "../../web/html.js";
import { checksummed, time } from "../format.js";
import { csrfField, page, type ViewContext } from "./layout.js";

export type SettingsData = {
  merchant: MerchantSettings;
  /** the merchant's underpayment tolerance in basis points (orders created from now on take it) */
  toleranceBps: number;
  keys: ApiKeyInfo[];
  members: ConsoleMemberRecord[];
  qrCodes: (MerchantQrListing & { url: string })[];
  /** a secret made by the last action, shown this once */
  reveal?: { title: string; fields: { label: string; value: string; id: string }[] };
  /** a refused form: which section, and why */
  error?: { section: string; message: string };
  /** values of the refused form */
  form?: Record<string, string>;
};

export function settingsPage(v: ViewContext, d: SettingsData): string {
  const { ctx, t, user } = v;
  const u = user!;
  const admin = roleAllows(u.role, "admin");
  const operator = roleAllows(u.role, "operator");
  const f = d.form ?? {};
  const err = (section: string) =>
    d.error?.section === section ? `<p class="error" role="alert" id="error-${section}">${e(d.error.message)}</p>` : "";
  const post = (path: string, body: string, cls = "") =>
    `<form method="post" action="${e(ctx.base)}${path}"${cls ? ` class="${cls}"` : ""}>${csrfField(u)}${body}</form>`;

  const reveal = d.reveal
    ? `<section class="card reveal" aria-labelledby="h-reveal" id="reveal"><h2 id="h-reveal">${e(d.reveal.title)}</h2>
  <p class="warning">${e(t("settings.shownOnce"))}</p>
  <dl class="facts">${d.reveal.fields
    .map(
      (x) =>
        `<div><dt>${e(x.label)}</dt><dd><code id="${e(x.id)}">${e(x.value)}</code> <button type="button" class="copy" data-copy="${e(
          x.id,
        )}">${e(t("settings.copy"))}</button></dd></div>`,
    )
    .join("")}</dl></section>`
    : "";

  const toc = `<nav class="toc" aria-label="${e(t("settings.sections"))}"><ul>
  <li><a href="#api-keys">${e(t("settings.apiKeys"))}</a></li><li><a href="#webhooks">${e(t("settings.webhooks"))}</a></li>
  <li><a href="#tolerance">${e(t("settings.tolerance"))}</a></li><li><a href="#members">${e(t("settings.members"))}</a></li><li><a href="#chains">${e(t("settings.chains"))}</a></li>
  <li><a href="#qr">${e(t("settings.qr"))}</a></li><li><a href="#statement">${e(t("settings.statement"))}</a></li>
  ${ctx.hasTest ? `<li><a href="#sandbox">${e(t("settings.sandbox"))}</a></li>` : ""}<li><a href="#sessions">${e(
    t("settings.sessions"),
  )}</a></li>
</ul></nav>`;

  const keyRows = d.keys
    .map(
      (k) => `<tr><td><code>${e(k.keyId)}</code></td><td>${e(k.label ?? "")}</td><td>${time(k.createdAt)}</td><td>${
        k.lastUsedAt ? time(k.lastUsedAt) : e(t("settings.never"))
      }</td>
  <td>${e(t(k.active ? "settings.active" : "settings.revoked"))}${k.revokedAt ? ` ${time(k.revokedAt)}` : ""}</td>
  <td>${
    k.active && admin
      ? post(
          `/settings/api-keys/${encodeURIComponent(k.keyId)}/revoke`,
          `<button type="submit" class="danger" data-confirm="${e(t("settings.revokeConfirm", { key: k.keyId }))}">${e(
            t("settings.revoke"),
          )}<span class="visually-hidden"> ${e(k.keyId)}</span></button>`,
          "inline",
        )
      : ""
  }</td></tr>`,
    )
    .join("");
  const apiKeys = `<section id="api-keys" aria-labelledby="h-keys"><h2 id="h-keys">${e(t("settings.apiKeys"))}</h2>
  <div class="table-wrap" tabindex="0"><table><thead><tr><th scope="col">${e(t("settings.keyId"))}</th><th scope="col">${e(
    t("settings.label"),
  )}</th><th scope="col">${e(t("field.created"))}</th><th scope="col">${e(t("settings.lastUsed"))}</th><th scope="col">${e(
    t("field.state"),
  )}</th><th scope="col">${e(t("field.actions"))}</th></tr></thead>
  <tbody>${keyRows}</tbody></table></div>
  ${err("api-keys")}
  ${
    admin
      ? post(
          "/settings/api-keys",
          `<div class="field"><label for="key-label">${e(
            t("settings.label"),
          )}</label><input id="key-label" name="label" maxlength="80" value="${e(
            f.label ?? "",
          )}"></div><button type="submit" id="create-key">${e(t("settings.createKey"))}</button>`,
          "row-form",
        )
      : `<p class="hint">${e(t("settings.adminOnly"))}</p>`
  }
</section>`;

  const webhooks = `<section id="webhooks" aria-labelledby="h-webhooks"><h2 id="h-webhooks">${e(t("settings.webhooks"))}</h2>
  <p>${e(t("settings.secretHint"))} <code>${e(d.merchant.webhookSecretHint)}</code></p>
  ${
    admin
      ? post(
          "/settings/webhook-secret",
          `<button type="submit" id="rotate-secret" data-confirm="${e(t("settings.rotateConfirm"))}">${e(t("settings.rotate"))}</button>`,
        )
      : ""
  }
  <h3>${e(t("settings.callbackUrls"))}</h3>
  <p class="hint">${e(t("settings.callbackHint"))}</p>
  ${err("callbacks")}
  ${post(
    "/settings/callbacks",
    `<div class="field"><label for="recharge-url">${e(
      t("settings.rechargeUrl"),
    )}</label><input id="recharge-url" name="rechargeNotifyUrl" type="url" maxlength="2048" value="${e(
      f.rechargeNotifyUrl ?? d.merchant.rechargeNotifyUrl ?? "",
    )}"${admin ? "" : " readonly"}></div>${admin ? `<button type="submit">${e(t("settings.save"))}</button>` : ""}`,
    "row-form",
  )}
</section>`;

  const percent = formatTolerancePercent(d.toleranceBps);
  const toleranceError = d.error?.section === "tolerance";
  const tolerance = `<section id="tolerance" aria-labelledby="h-tolerance"><h2 id="h-tolerance">${e(t("settings.tolerance"))}</h2>
  <p id="tolerance-current">${e(t("settings.toleranceCurrent", { percent, bps: d.toleranceBps }))}</p>
  <p class="hint" id="tolerance-hint">${e(t("settings.toleranceHint"))}</p>
  ${err("tolerance")}
  ${
    admin
      ? post(
          "/settings/tolerance",
          `<div class="field"><label for="tolerance-percent">${e(
            t("settings.tolerancePercent", { max: formatTolerancePercent(MAX_TOLERANCE_BPS) }),
          )}</label><input id="tolerance-percent" name="tolerancePercent" inputmode="decimal" maxlength="20" spellcheck="false" autocomplete="off" aria-describedby="tolerance-hint${
            toleranceError ? " error-tolerance" : ""
          }"${toleranceError ? ' aria-invalid="true"' : ""} value="${e(f.tolerancePercent ?? percent)}"></div>
    <button type="submit" id="save-tolerance">${e(t("settings.save"))}</button>`,
          "row-form",
        )
      : `<p class="hint">${e(t("settings.toleranceAdminOnly"))}</p>`
  }
</section>`;

  const memberRows = d.members
    .map((m) => {
      const addr = checksummed(m.address);
      const actions =
        admin && !m.signer && m.address !== u.address
          ? post(
              `/settings/members/${m.address}/remove`,
              `<button type="submit" class="danger" data-confirm="${e(t("settings.removeConfirm", { address: addr }))}">${e(
                t("settings.remove"),
              )}<span class="visually-hidden"> ${e(addr)}</span></button>`,
              "inline",
            )
          : "";
      return `<tr><td><code>${e(addr)}</code></td><td>${e(t(`role.${m.role}`))}${
        m.signer ? ` <span class="muted">(${e(t("settings.payoutSigner"))})</span>` : ""
      }</td><td>${e(m.label ?? "")}</td><td>${m.addedBy ? `<code>${e(checksummed(m.addedBy))}</code>` : ""}</td><td>${actions}</td></tr>`;
    })
    .join("");
  const roleOptions = CONSOLE_ROLES.map(
    (r) => `<option value="${r}"${(f.role ?? "viewer") === r ? " selected" : ""}>${e(t(`role.${r}`))}</option>`,
  ).join("");
  const members = `<section id="members" aria-labelledby="h-members"><h2 id="h-members">${e(t("settings.members"))}</h2>
  <p class="hint">${e(t("settings.rolesHint"))}</p>
  <div class="table-wrap" tabindex="0"><table><thead><tr><th scope="col">${e(t("settings.address"))}</th><th scope="col">${e(
    t("settings.role"),
  )}</th><th scope="col">${e(t("settings.label"))}</th><th scope="col">${e(t("settings.addedBy"))}</th><th scope="col">${e(
    t("field.actions"),
  )}</th></tr></thead>
  <tbody>${memberRows || `<tr><td colspan="5">${e(t("settings.noMembers"))}</td></tr>`}</tbody></table></div>
  ${err("members")}
  ${
    admin
      ? post(
          "/settings/members",
          `<div class="field"><label for="member-address">${e(
            t("settings.address"),
          )}</label><input id="member-address" name="address" required maxlength="42" spellcheck="false" autocomplete="off" value="${e(
            f.address ?? "",
          )}"></div>
    <div class="field"><label for="member-role">${e(
      t("settings.role"),
    )}</label><select id="member-role" name="role">${roleOptions}</select></div>
    <div class="field"><label for="member-label">${e(
      t("settings.label"),
    )}</label><input id="member-label" name="label" maxlength="80" value="${e(f.memberLabel ?? "")}"></div>
    <button type="submit" id="add-member">${e(t("settings.addMember"))}</button>`,
          "row-form",
        )
      : ""
  }
</section>`;

  const chainRows = ctx.chains
    .map(
      (c) => `<tr><th scope="row">${e(c.name)} <span class="muted">(${c.chainId}, ${e(c.code)})</span>${
        c.testnet ? ` <span class="tag">${e(t("settings.test"))}</span>` : ""
      }</th>
  <td>${c.tokens.map((tk) => `${e(tk.symbol)} <code>${e(tk.address)}</code> (${tk.decimals})`).join("<br>")}</td><td class="num">${
    c.finality === "finalized" ? e(t("settings.finalized")) : c.confirmations
  }</td><td><code>${e(c.vault)}</code></td></tr>`,
    )
    .join("");
  const chains = `<section id="chains" aria-labelledby="h-chains"><h2 id="h-chains">${e(t("settings.chains"))}</h2>
  <div class="table-wrap" tabindex="0"><table><thead><tr><th scope="col">${e(t("field.chain"))}</th><th scope="col">${e(
    t("settings.coins"),
  )}</th><th scope="col" class="num">${e(t("settings.confirmations"))}</th><th scope="col">${e(t("settings.vault"))}</th></tr></thead>
  <tbody>${chainRows}</tbody></table></div>
  <p class="hint">${e(t("settings.chainsHint"))}</p>
</section>`;

  const viewChains = u.chainIds.map((id) => ctx.chain(id)!);
  const coinOptions = viewChains
    .flatMap((c) =>
      c.tokens.map(
        (tk) =>
          `<option value="${c.chainId}:${e(tk.address.toLowerCase())}"${
            f.coin === `${c.chainId}:${tk.address.toLowerCase()}` ? " selected" : ""
          }>${e(tk.symbol)} · ${e(c.name)}</option>`,
      ),
    )
    .join("");
  const qrRows = d.qrCodes
    .map((q) => {
      const tk = ctx.token(q.chainId, q.tokenAddress);
      return `<tr${q.disabledAt ? ' class="disabled"' : ""}><td>${e(q.label)}</td><td>${e(q.tokenSymbol)} · ${e(
        ctx.chain(q.chainId)?.name ?? String(q.chainId),
      )}</td>
  <td class="num">${q.maxAmount === null ? "—" : e(formatAmount(q.maxAmount, tk?.decimals ?? q.tokenDecimals))}</td><td class="num">${
    q.orders
  }</td>
  <td>${
    q.disabledAt
      ? `${e(t("settings.disabled"))} ${time(q.disabledAt)}`
      : `<a href="${e(q.url)}" rel="noopener noreferrer" target="_blank">${e(t("settings.openLink"))}<span class="visually-hidden"> ${e(
          q.label,
        )}</span></a>`
  }</td>
  <td>${
    q.disabledAt
      ? ""
      : `<a href="${e(ctx.base)}/settings/qr/${e(q.code)}/print">${e(t("settings.print"))}<span class="visually-hidden"> ${e(
          q.label,
        )}</span></a> ${
          operator
            ? post(
                `/settings/qr/${e(q.code)}/disable`,
                `<button type="submit" class="danger" data-confirm="${e(t("settings.disableConfirm", { label: q.label }))}">${e(
                  t("settings.disable"),
                )}<span class="visually-hidden"> ${e(q.label)}</span></button>`,
                "inline",
              )
            : ""
        }`
  }</td></tr>`;
    })
    .join("");
  const qr = `<section id="qr" aria-labelledby="h-qr"><h2 id="h-qr">${e(t("settings.qr"))}</h2>
  <p class="hint">${e(t("settings.qrHint"))}</p>
  <div class="table-wrap" tabindex="0"><table><thead><tr><th scope="col">${e(t("settings.label"))}</th><th scope="col">${e(
    t("field.coin"),
  )}</th><th scope="col" class="num">${e(t("settings.maxAmount"))}</th><th scope="col" class="num">${e(
    t("settings.qrOrders"),
  )}</th><th scope="col">${e(t("settings.link"))}</th><th scope="col">${e(t("field.actions"))}</th></tr></thead>
  <tbody>${qrRows || `<tr><td colspan="6">${e(t("settings.noQr"))}</td></tr>`}</tbody></table></div>
  ${err("qr")}
  ${
    operator && coinOptions
      ? post(
          "/settings/qr",
          `<div class="field"><label for="qr-label">${e(
            t("settings.label"),
          )}</label><input id="qr-label" name="label" required maxlength="80" value="${e(f.qrLabel ?? "")}"></div>
    <div class="field"><label for="qr-coin">${e(t("field.coin"))}</label><select id="qr-coin" name="coin">${coinOptions}</select></div>
    <div class="field"><label for="qr-notify">${e(
      t("settings.notifyUrl"),
    )}</label><input id="qr-notify" name="notifyUrl" type="url" required maxlength="2048" value="${e(f.notifyUrl ?? "")}"></div>
    <div class="field"><label for="qr-redirect">${e(
      t("settings.redirectUrl"),
    )}</label><input id="qr-redirect" name="redirectionUrl" type="url" maxlength="2048" value="${e(f.redirectionUrl ?? "")}"></div>
    <div class="field"><label for="qr-max">${e(
      t("settings.maxAmount"),
    )}</label><input id="qr-max" name="maxAmount" inputmode="decimal" maxlength="80" value="${e(f.maxAmount ?? "")}"></div>
    <button type="submit" id="create-qr">${e(t("settings.createQr"))}</button>`,
          "row-form",
        )
      : ""
  }
</section>`;

  const today = new Date().toISOString().slice(0, 10);
  const monthStart = `${today.slice(0, 8)}01`;
  const statement = `<section id="statement" aria-labelledby="h-statement"><h2 id="h-statement">${e(t("settings.statement"))}</h2>
  <p class="hint">${e(t("settings.statementHint"))}</p>
  ${err("statement")}
  <form method="get" action="${e(ctx.base)}/settings/statement" class="row-form">
    <div class="field"><label for="st-from">${e(t("filter.from"))}</label><input id="st-from" name="from" type="date" required value="${e(
      f.from ?? monthStart,
    )}"></div>
    <div class="field"><label for="st-to">${e(t("filter.to"))}</label><input id="st-to" name="to" type="date" required value="${e(
      f.to ?? today,
    )}"></div>
    <div class="field"><label for="st-format">${e(
      t("settings.format"),
    )}</label><select id="st-format" name="format"><option value="csv">CSV</option><option value="json">JSON</option></select></div>
    <button type="submit" id="download-statement">${e(t("settings.download"))}</button>
  </form>
</section>`;

  const sandbox = ctx.hasTest
    ? `<section id="sandbox" aria-labelledby="h-sandbox"><h2 id="h-sandbox">${e(t("settings.sandbox"))}</h2>
  <p>${e(t(u.sandbox ? "settings.sandboxOn" : "settings.sandboxOff"))}</p>
  ${
    ctx.hasLive
      ? post(
          "/settings/sandbox",
          `<input type="hidden" name="sandbox" value="${u.sandbox ? "0" : "1"}"><button type="submit" id="sandbox-switch" aria-pressed="${
            u.sandbox
          }">${e(t(u.sandbox ? "settings.sandboxLeave" : "settings.sandboxEnter"))}</button>`,
        )
      : `<p class="hint">${e(t("settings.sandboxOnly"))}</p>`
  }
</section>`
    : "";

  const sessions = `<section id="sessions" aria-labelledby="h-sessions"><h2 id="h-sessions">${e(t("settings.sessions"))}</h2>
  <p>${e(t("settings.sessionsHint"))}</p>
  ${post(
    "/signout-everywhere",
    `<button type="submit" class="danger" id="signout-everywhere">${e(t("settings.signOutEverywhere"))}</button>`,
  )}
</section>`;

  return page(v, {
    title: t("settings.title"),
    nav: "settings",
    wide: true,
    body: `${reveal}${toc}${apiKeys}${webhooks}${tolerance}${members}${chains}${qr}${statement}${sandbox}${sessions}`,
  });
}

/** A static QR code on its own, for printing at the counter. */
export function qrPrintPage(v: ViewContext, p: { label: string; merchant: string; coin: string; url: string; svg: string }): string {
  const { t } = v;
  return page(v, {
    title: t("qrPrint.title", { label: p.label }),
    nav: "settings",
    body: `<div class="print-sheet">
  <p class="print-merchant">${e(p.merchant)}</p>
  <div class="print-qr" role="img" aria-label="${e(t("qrPrint.alt", { label: p.label }))}">${p.svg}</div>
  <p class="print-label">${e(p.label)} · ${e(p.coin)}</p>
  <p class="print-url"><code>${e(p.url)}</code></p>
</div>
<p class="no-print"><button type="button" id="print">${e(t("qrPrint.print"))}</button> <a href="${e(v.ctx.base)}/settings#qr">${e(
      t("qrPrint.back"),
    )}</a></p>`,
  });
}
