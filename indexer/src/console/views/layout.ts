import { escapeHtml as e } from "../../web/html.js";
import { LOCALE_NAMES, LOCALES, messagesFor, type Locale, type Translate } from "../../web/i18n.js";
import type { ConsoleContext } from "../context.js";
import { shortAddress, checksummed } from "../format.js";
import type { ConsoleUser } from "../session.js";

export type T = Translate<"console">;

/** What every console page is rendered with. */
export type ViewContext = {
  ctx: ConsoleContext;
  t: T;
  locale: Locale;
  /** the request's path and query, for the language links */
  url: string;
  user: ConsoleUser | null;
  /** payouts awaiting approval, for the navigation badge */
  pending?: number;
  /** a message about the last action (after a redirect) */
  flash?: string;
};

export type NavItem = "overview" | "orders" | "approvals" | "settings";

/** The strings console.js needs, handed over as JSON (a data block: the CSP runs no inline script). */
function scriptMessages(locale: Locale): string {
  const all = messagesFor(locale, "console") as Record<string, string>;
  const js = Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith("js.")));
  return JSON.stringify(js).replace(/</g, "\\u003c");
}

/** The page at `url` in another language. */
function languageHref(url: string, locale: Locale): string {
  const u = new URL(url, "http://x");
  u.searchParams.set("lang", locale);
  return `${u.pathname}?${u.searchParams}`;
}

/** The shell of every console page: header with navigation, the signed-in address and role, the language switch. */
export function page(v: ViewContext, p: { title: string; nav?: NavItem; body: string; flash?: string; wide?: boolean }): string {
  const { ctx, t, user } = v;
  const link = (item: NavItem, href: string, label: string, extra = "") =>
    `<li><a href="${e(href)}"${p.nav === item ? ' aria-current="page"' : ""}>${e(label)}${extra}</a></li>`;
  const nav = user
    ? `<nav class="main-nav" aria-label="${e(t("nav.label"))}"><ul>
  ${link("overview", `${ctx.base}/overview`, t("nav.overview"))}
  ${link("orders", `${ctx.base}/orders`, t("nav.orders"))}
  ${link(
    "approvals",
    `${ctx.base}/approvals`,
    t("nav.approvals"),
    v.pending ? ` <span class="badge">${v.pending}<span class="visually-hidden"> ${e(t("nav.pending"))}</span></span>` : "",
  )}
  ${link("settings", `${ctx.base}/settings`, t("nav.settings"))}
</ul></nav>`
    : "";
  const languages = `<ul class="langs" aria-label="${e(t("nav.language"))}">${LOCALES.map((l) =>
    l === v.locale
      ? `<li><span aria-current="true" lang="${l}">${e(LOCALE_NAMES[l])}</span></li>`
      : `<li><a href="${e(languageHref(v.url, l))}" lang="${l}" hreflang="${l}">${e(LOCALE_NAMES[l])}</a></li>`,
  ).join("")}</ul>`;
  const who = user
    ? `<div class="who">
  <p><span class="visually-hidden">${e(t("nav.signedInAs"))}</span><code title="${e(checksummed(user.address))}">${e(
    shortAddress(checksummed(user.address)),
  )}</code>
     <span class="role">${e(t(`role.${user.role}`))}</span></p>
  ${merchantSwitch(v)}
  <form method="post" action="${e(ctx.base)}/signout" class="inline"><input type="hidden" name="_csrf" value="${e(
    user.session.csrfToken,
  )}"><button type="submit" class="link">${e(t("nav.signOut"))}</button></form>
</div>`
    : "";
  const sandbox =
    user && user.sandbox ? `<p class="sandbox-banner" role="note">${e(t(ctx.hasLive ? "sandbox.banner" : "sandbox.only"))}</p>` : "";
  return `<!doctype html>
<html lang="${v.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
${user ? `<meta name="csrf-token" content="${e(user.session.csrfToken)}">` : ""}
<title>${e(p.title)} · ${e(t("brand"))}</title>
<link rel="stylesheet" href="${e(ctx.base)}/assets/console.css">
<script src="${e(ctx.base)}/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">${e(t("nav.skip"))}</a>
<header class="top">
  <p class="brand"><a href="${e(ctx.base)}/overview">${e(t("brand"))}</a>${
    user ? ` <span class="merchant">${e(user.merchantName)}</span>` : ""
  }</p>
  ${nav}
  ${who}
  ${languages}
</header>
<main id="main"${p.wide ? ' class="wide"' : ""}>
${sandbox}
<h1>${e(p.title)}</h1>
${(p.flash ?? v.flash) ? `<p class="flash" role="status">${e(p.flash ?? v.flash)}</p>` : ""}
${p.body}
</main>
<script type="application/json" id="console-i18n">${scriptMessages(v.locale)}</script>
</body>
</html>`;
}

function merchantSwitch(v: ViewContext): string {
  const { ctx, t, user } = v;
  if (!user || user.merchants.length < 2) return "";
  const options = user.merchants
    .map(
      (m) =>
        `<option value="${m.merchantId}"${m.merchantId === user.merchantId ? " selected" : ""}>${e(m.name)} (#${m.merchantId})</option>`,
    )
    .join("");
  return `<form method="post" action="${e(ctx.base)}/session/merchant" class="inline merchant-switch">
  <input type="hidden" name="_csrf" value="${e(user.session.csrfToken)}">
  <label for="merchant-switch">${e(t("nav.merchant"))}</label>
  <select id="merchant-switch" name="merchantId">${options}</select>
  <button type="submit">${e(t("nav.switch"))}</button>
</form>`;
}

/** A hidden CSRF field for a form of the signed-in user. */
export const csrfField = (user: ConsoleUser) => `<input type="hidden" name="_csrf" value="${e(user.session.csrfToken)}">`;

/** A page for a refusal or a missing object: 401, 403, 404, 409, 429, 500. */
export function errorPage(v: ViewContext, status: number, message: string): string {
  const title = v.t(
    status === 404 ? "error.notFoundTitle" : status === 403 ? "error.forbiddenTitle" : status === 401 ? "error.signInTitle" : "error.title",
  );
  const back = v.user
    ? `<p><a href="${e(v.ctx.base)}/overview">${e(v.t("error.back"))}</a></p>`
    : `<p><a href="${e(v.ctx.base)}/signin">${e(v.t("signin.title"))}</a></p>`;
  return page(v, { title, body: `<p class="error" role="alert">${e(message)}</p>${back}` });
}
