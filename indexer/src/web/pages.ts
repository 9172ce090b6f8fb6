import { escapeHtml as e, layout } from "./html.js";
import type { Locale, Translate } from "./i18n.js";
import type { PayStatus } from "./payStatus.js";

/** A page's language and the links of its language switch. */
export type PageLanguage = {
  locale: Locale;
  t: Translate<"pay">;
  /** every supported language with the current URL in it (the current one marked) */
  switchLinks: { locale: Locale; name: string; href: string; current: boolean }[];
  /** the translated "Language" label of the switch */
  switchLabel: string;
};

export type PayPageView = PageLanguage & {
  assetBase: string;
  statusUrl: string;
  merchantName: string;
  payOrderId: string;
  merchantOrderId: string;
  accessSign: string;
  chainId: number;
  networkName: string;
  token: string;
  tokenSymbol: string;
  /** the token's full name when configured ("Tether USD") */
  tokenName?: string;
  native: boolean;
  decimals: number;
  amount: string;
  amountBaseUnits: string;
  /** still to send when the page was rendered (the QR code's amount): less than amount once part arrived */
  due: string;
  dueBaseUnits: string;
  receipt: string;
  paymentUri: string;
  qrSvg: string;
  expireAt: number;
  /** a fiat-priced order's locked quote: what the payer is charged in the shop's currency and at which rate */
  fiat?: { amount: string; currency: string; rate: string; lockedUntil: Date; pairs: string[] };
  /** the chain's block explorer base URL (transactions link to `<explorerUrl>/tx/<hash>`) */
  explorerUrl?: string;
  /** the status when the page was rendered: the script shows it at once, then polls */
  status: PayStatus;
  /** the script's strings in the page's language */
  messages: Record<string, string>;
  /** where the payer may pay instead (another network or coin of the quote), the current one first; shown when open and more than one */
  choices: { value: string; label: string; current: boolean }[];
  /** the form's target (POST payOrderId, accessSign, choice) */
  chooseAction: string;
  /** why the last choice was refused, in the page's language */
  chooseError?: string;
};

/** The "pay with another network or coin" form: a plain form post, no script needed. */
function choiceForm(v: PayPageView): string {
  if (v.choices.length < 2 || (v.status.state !== 0 && v.status.state !== 1)) {
    return v.chooseError ? `<p class="error" id="choose-error" role="alert">${e(v.chooseError)}</p>` : "";
  }
  const { t } = v;
  const options = v.choices.map((c) => `<option value="${e(c.value)}"${c.current ? " selected" : ""}>${e(c.label)}</option>`).join("");
  return `<form method="post" action="${e(v.chooseAction)}" class="choose" id="choose">
    <input type="hidden" name="payOrderId" value="${e(v.payOrderId)}">
    <input type="hidden" name="accessSign" value="${e(v.accessSign)}">
    <label for="choice">${e(t("chooseLabel"))}</label>
    <div class="row"><select id="choice" name="choice">${options}</select><button type="submit" id="choose-submit">${e(t("chooseSubmit"))}</button></div>
    <p class="hint" id="choose-hint">${e(t("chooseHint"))}</p>
    ${v.chooseError ? `<p class="error" id="choose-error" role="alert">${e(v.chooseError)}</p>` : ""}
  </form>`;
}

/** A translated message with HTML pieces put in its `{placeholders}` (the message itself is escaped). */
function withHtml(message: string, pieces: Record<string, string>): string {
  return e(message).replace(/\{(\w+)\}/g, (whole, name: string) => pieces[name] ?? whole);
}

const OPEN_STATES = new Set([0, 1, 2, 3]);

/** The state's title key (the script keeps it current; rendered here so the page never shows a stale one). */
export function stateTitleKey(state: number) {
  const keys = {
    0: "stateUnpaid",
    1: "stateUnderpaid",
    2: "stateSeen",
    3: "stateConfirming",
    4: "stateSuccess",
    [-1]: "stateFailed",
    [-2]: "stateExpired",
    [-3]: "stateCancelled",
  } as const;
  return keys[state as keyof typeof keys] ?? "stateUnknown";
}

/** A rate for reading: at most 8 decimals (the quote keeps 18; amounts never come from this). */
function readableRate(rate: string): string {
  const [whole, frac = ""] = rate.split(".");
  const cut = frac.slice(0, 8).replace(/0+$/, "");
  return cut ? `${whole}.${cut}` : whole!;
}

/** The fiat price, the locked rate, until when and where it came from (the page's facts list). */
function fiatFacts(v: PayPageView): string {
  const { t } = v;
  const f = v.fiat!;
  const time = f.lockedUntil.toISOString().replace("T", " ").slice(0, 19);
  return `<dt>${e(t("fiatPrice"))}</dt><dd id="fiat-price">${e(f.amount)} ${e(f.currency)}</dd>
      <dt>${e(t("fiatRate"))}</dt><dd id="fiat-rate">${e(t("fiatRateValue", { symbol: v.tokenSymbol, rate: readableRate(f.rate), currency: f.currency }))}</dd>
      <dt>${e(t("fiatLockedUntil"))}</dt><dd id="fiat-locked"><time datetime="${e(f.lockedUntil.toISOString())}">${e(t("fiatLockedValue", { time }))}</time></dd>
      <dt>${e(t("fiatSource"))}</dt><dd id="fiat-source">${e(f.pairs.length ? t("fiatSourceValue", { pairs: f.pairs.join(", ") }) : t("fiatSourcePeg", { currency: f.currency }))}</dd>`;
}

function languageSwitch(l: PageLanguage): string {
  const links = l.switchLinks
    .map(
      (s) =>
        `<a href="${e(s.href)}" lang="${e(s.locale)}" hreflang="${e(s.locale)}"${s.current ? ' aria-current="page"' : ""}>${e(s.name)}</a>`,
    )
    .join("");
  return `<nav class="lang" aria-label="${e(l.switchLabel)}">${links}</nav>`;
}

/** The hosted payment page. Order data and the script's strings go to the script through escaped data- attributes. */
export function payPage(v: PayPageView): string {
  const { t } = v;
  const data = {
    "status-url": v.statusUrl,
    "pay-order-id": v.payOrderId,
    "access-sign": v.accessSign,
    "chain-id": v.chainId,
    "network-name": v.networkName,
    token: v.token,
    native: v.native ? "1" : "0",
    symbol: v.tokenSymbol,
    decimals: v.decimals,
    amount: v.amountBaseUnits,
    "due-rendered": v.dueBaseUnits,
    receipt: v.receipt,
    "expire-at": v.expireAt,
    explorer: v.explorerUrl ?? "",
    locale: v.locale,
    messages: JSON.stringify(v.messages),
    status: JSON.stringify(v.status),
  };
  const attrs = Object.entries(data)
    .map(([k, val]) => `data-${k}="${e(val)}"`)
    .join(" ");
  const state = v.status.state;
  const classes = ["card", OPEN_STATES.has(state) ? "" : "closed", state === 2 || state === 3 ? "paid" : ""].filter(Boolean).join(" ");
  const tokenLine = v.native
    ? `${e(v.tokenSymbol)} · ${e(t("nativeCoin", { network: v.networkName }))}`
    : `${e(v.tokenSymbol)}${v.tokenName ? ` · ${e(v.tokenName)}` : ""}`;
  return layout({
    title: t("pageTitle", { amount: v.amount, symbol: v.tokenSymbol, merchant: v.merchantName }),
    assetBase: v.assetBase,
    scripts: true,
    lang: v.locale,
    body: `<main class="${classes}" id="pay" ${attrs}>
  <header>
    <h1 class="merchant">${e(t("heading", { merchant: v.merchantName }))}</h1>
    ${languageSwitch(v)}
  </header>
  <p class="order">${withHtml(t("order", { id: "{id}" }), { id: `<span>${e(v.merchantOrderId)}</span>` })}</p>
  <section class="amount">
    <p class="total"><span class="value" id="amount">${e(v.amount)}</span> <span class="symbol">${e(v.tokenSymbol)}</span></p>
    <dl class="facts">
      <dt>${e(t("token"))}</dt><dd id="token-name">${tokenLine}</dd>
      <dt>${e(t("network"))}</dt><dd id="network">${e(t("networkValue", { network: v.networkName, chainId: v.chainId }))}</dd>
      ${v.native ? "" : `<dt>${e(t("contract"))}</dt><dd><code class="token">${e(v.token)}</code></dd>`}
      ${v.fiat ? fiatFacts(v) : ""}
    </dl>
  </section>
  ${choiceForm(v)}
  <section id="status" class="status" data-state="${e(state)}" role="status" aria-live="polite">
    <strong id="status-title">${e(t(stateTitleKey(state)))}</strong>
    <span id="status-detail"></span>
  </section>
  <p class="timer">${e(t("timeLeft"))} <span id="countdown">--:--</span></p>
  <section class="qr" id="qr" aria-label="${e(t("qrLabel"))}">${v.qrSvg}</section>
  <section class="address">
    <p class="send" id="send-label">${withHtml(t("sendExactly", { amount: "{amount}" }), {
      amount: `<b id="send-amount">${e(v.due)} ${e(v.tokenSymbol)}</b>`,
    })}</p>
    <div class="row"><code id="receipt">${e(v.receipt)}</code><button type="button" id="copy">${e(v.messages.copy ?? "Copy")}</button></div>
    <p class="warning" id="network-warning">${e(t("networkWarning", { symbol: v.tokenSymbol, network: v.networkName }))}</p>
    <a class="uri" id="uri" href="${e(v.paymentUri)}">${e(t("openInWallet"))}</a>
    <p class="hint hidden" id="qr-stale">${e(t("qrStale"))}</p>
  </section>
  <section class="wallet">
    <button type="button" id="pay-wallet" class="primary">${e(t("payWithWallet"))}</button>
    <div id="wallet-picker" class="picker hidden" role="group" aria-labelledby="picker-title">
      <p id="picker-title">${e(t("chooseWallet"))}</p>
      <ul id="wallet-list"></ul>
    </div>
    <p id="wallet-msg" class="hint" aria-live="polite"></p>
  </section>
  <section id="txs" class="txs hidden" aria-labelledby="txs-title">
    <h2 id="txs-title">${e(t("transactions"))}</h2>
    <ul id="tx-list"></ul>
  </section>
  <section id="receipt-card" class="receipt hidden" aria-labelledby="receipt-title">
    <h2 id="receipt-title">${e(t("receipt"))}</h2>
    <dl>
      <dt>${e(t("receiptAmount"))}</dt><dd id="receipt-amount"></dd>
      <dt>${e(t("receiptTime"))}</dt><dd id="receipt-time"></dd>
      <dt>${e(t("receiptTx"))}</dt><dd id="receipt-tx"></dd>
    </dl>
  </section>
  <p class="back hidden" id="back"><a id="back-link" href="#">${e(t("backToShop", { merchant: v.merchantName }))}</a></p>
  <footer>${e(t("footer", { id: v.payOrderId }))}</footer>
</main>`,
  });
}

/** Any link that does not check out: nothing of any order is shown. */
export function invalidPage(assetBase: string, l: PageLanguage): string {
  return messagePage(assetBase, l.t("linkInvalidTitle"), l.t("linkInvalidText"), l);
}

export function messagePage(assetBase: string, title: string, text: string, l?: PageLanguage): string {
  return layout({
    title,
    assetBase,
    lang: l?.locale,
    body: `<main class="card message">${l ? languageSwitch(l) : ""}<h1>${e(title)}</h1><p>${e(text)}</p></main>`,
  });
}

export type QrAmountView = PageLanguage & {
  assetBase: string;
  action: string;
  merchantName: string;
  label: string;
  networkName: string;
  tokenSymbol: string;
  decimals: number;
  maxAmount: string | null;
  ref: string;
  amount?: string;
  error?: string;
};

/** The static merchant QR's page: the payer types the amount. Works without script (a plain form post). */
export function qrAmountPage(v: QrAmountView): string {
  const { t } = v;
  const step = v.decimals === 0 ? "1" : `0.${"0".repeat(v.decimals - 1)}1`;
  const hint = v.maxAmount
    ? t("decimalsMaxHint", { decimals: v.decimals, max: v.maxAmount, symbol: v.tokenSymbol })
    : t("decimalsHint", { decimals: v.decimals });
  return layout({
    title: t("qrTitle", { merchant: v.merchantName }),
    assetBase: v.assetBase,
    lang: v.locale,
    body: `<main class="card">
  <header>
    <h1 class="merchant">${e(t("qrTitle", { merchant: v.merchantName }))}</h1>
    ${languageSwitch(v)}
  </header>
  <p class="order">${e(v.label)}</p>
  <form method="post" action="${e(v.action)}" class="amount-form" novalidate>
    <label for="amount">${e(t("amountIn", { symbol: v.tokenSymbol, network: v.networkName }))}</label>
    <input id="amount" name="amount" type="text" inputmode="decimal" autocomplete="off" required aria-describedby="amount-hint${
      v.error ? " error" : ""
    }"
      pattern="[0-9]+([.][0-9]{1,${e(v.decimals)}})?" placeholder="0.00" value="${e(v.amount ?? "")}" data-step="${e(step)}">
    <input type="hidden" name="ref" value="${e(v.ref)}">
    <p class="hint" id="amount-hint">${e(hint)}</p>
    ${v.error ? `<p class="error" id="error" role="alert">${e(v.error)}</p>` : ""}
    <button type="submit" class="primary" id="continue">${e(t("continue"))}</button>
  </form>
</main>`,
  });
}
