import { escapeHtml as e, layout } from "./html.js";

export type PayPageView = {
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
};

/** The hosted payment page. Order data goes to the script through escaped data- attributes. */
export function payPage(v: PayPageView): string {
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
  };
  const attrs = Object.entries(data)
    .map(([k, val]) => `data-${k}="${e(val)}"`)
    .join(" ");
  return layout({
    title: `Pay ${v.amount} ${v.tokenSymbol} to ${v.merchantName}`,
    assetBase: v.assetBase,
    scripts: true,
    body: `<main class="card" id="pay" ${attrs}>
  <header>
    <p class="merchant">${e(v.merchantName)}</p>
    <p class="order">Order <span>${e(v.merchantOrderId)}</span></p>
  </header>
  <section class="amount">
    <span class="value" id="amount">${e(v.amount)}</span> <span class="symbol">${e(v.tokenSymbol)}</span>
    <p class="network">on <strong id="network">${e(v.networkName)}</strong> (chain ${e(v.chainId)})${
      v.native ? "" : ` · token <code class="token">${e(v.token)}</code>`
    }</p>
  </section>
  <section id="status" class="status" data-state="0" role="status" aria-live="polite">
    <strong id="status-title">Waiting for payment</strong>
    <span id="status-detail"></span>
  </section>
  <section class="timer">Time left: <span id="countdown">--:--</span></section>
  <section class="qr" id="qr" aria-label="QR code for wallet apps">${v.qrSvg}</section>
  <section class="address">
    <label for="receipt">Send exactly <b id="send-amount">${e(v.due)} ${e(v.tokenSymbol)}</b> to</label>
    <div class="row"><code id="receipt">${e(v.receipt)}</code><button type="button" id="copy">Copy</button></div>
    <a class="uri" id="uri" href="${e(v.paymentUri)}">Open in a wallet app</a>
    <p class="hint hidden" id="qr-stale">The amount still due changed: reload the page for a new QR code.</p>
  </section>
  <section class="wallet">
    <button type="button" id="pay-wallet" class="primary">Pay with browser wallet</button>
    <p id="wallet-msg" class="hint"></p>
  </section>
  <footer>Payment ${e(v.payOrderId)}</footer>
</main>`,
  });
}

/** Any link that does not check out: nothing of any order is shown. */
export function invalidPage(assetBase: string): string {
  return messagePage(assetBase, "Link invalid", "This payment link is not valid. Ask the shop for a new one.");
}

export function messagePage(assetBase: string, title: string, text: string): string {
  return layout({
    title,
    assetBase,
    body: `<main class="card message"><h1>${e(title)}</h1><p>${e(text)}</p></main>`,
  });
}

export type QrAmountView = {
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
  const step = v.decimals === 0 ? "1" : `0.${"0".repeat(v.decimals - 1)}1`;
  return layout({
    title: `Pay ${v.merchantName}`,
    assetBase: v.assetBase,
    body: `<main class="card">
  <header>
    <p class="merchant">${e(v.merchantName)}</p>
    <p class="order">${e(v.label)}</p>
  </header>
  <form method="post" action="${e(v.action)}" class="amount-form" novalidate>
    <label for="amount">Amount in ${e(v.tokenSymbol)} on ${e(v.networkName)}</label>
    <input id="amount" name="amount" type="text" inputmode="decimal" autocomplete="off" required
      pattern="[0-9]+([.][0-9]{1,${e(v.decimals)}})?" placeholder="0.00" value="${e(v.amount ?? "")}" data-step="${e(step)}">
    <input type="hidden" name="ref" value="${e(v.ref)}">
    <p class="hint">Up to ${e(v.decimals)} decimals${v.maxAmount ? `, at most ${e(v.maxAmount)} ${e(v.tokenSymbol)}` : ""}.</p>
    ${v.error ? `<p class="error" id="error" role="alert">${e(v.error)}</p>` : ""}
    <button type="submit" class="primary" id="continue">Continue to payment</button>
  </form>
</main>`,
  });
}
