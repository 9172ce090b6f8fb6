import { escapeHtml as e } from "../../web/html.js";
import { page, type ViewContext } from "./layout.js";

/**
 * Sign-in with Ethereum: the script asks the wallet for its address, fetches a message with a fresh nonce,
 * has the wallet sign it (personal_sign) and sends it back. `wrongHost` warns when the page was opened at
 * an address other than the console's public one (the message names the public host, and the cookie
 * belongs to the host the browser sees).
 */
export function signinPage(v: ViewContext, p: { token: string; wrongHost: boolean; insecure: boolean; reason?: string }): string {
  const { ctx, t } = v;
  const warn = [
    p.wrongHost
      ? `<p class="warning" role="note">${e(t("signin.wrongHost", { url: `${ctx.origin}${ctx.base}` }))} <a href="${e(
          `${ctx.origin}${ctx.base}/signin`,
        )}">${e(`${ctx.origin}${ctx.base}`)}</a></p>`
      : "",
    p.insecure ? `<p class="warning" role="note">${e(t("signin.insecure"))}</p>` : "",
    p.reason ? `<p class="warning" role="note">${e(p.reason)}</p>` : "",
  ].join("");
  return page(v, {
    title: t("signin.title"),
    body: `${warn}
<section class="card signin" id="signin-box" data-nonce-url="${e(ctx.base)}/signin/nonce" data-verify-url="${e(
      ctx.base,
    )}/signin/verify" data-token="${e(p.token)}">
  <p>${e(t("signin.intro"))}</p>
  <p>${e(t("signin.who"))}</p>
  <button type="button" id="signin" class="primary">${e(t("signin.button"))}</button>
  <p id="signin-msg" class="hint" role="status" aria-live="polite"></p>
</section>`,
  });
}
