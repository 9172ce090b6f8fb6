import { readFileSync } from "node:fs";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { GatewayContext } from "../api/context.js";
import { checksum } from "../api/context.js";
import { toApiError } from "../api/errors.js";
import { createPaymentOrderFor, movePaymentTo, paymentChoicesOf, paymentUrlOf } from "../api/paymentOrderService.js";
import { createRateLimiter } from "../api/rateLimit.js";
import { NATIVE_TOKEN } from "../config.js";
import { accessSign, signaturesEqual } from "../crypto/signing.js";
import { newId } from "../domain/ids.js";
import { formatAmount, parseAmount } from "../domain/money.js";
import { findMerchantQr } from "../store/merchantQr.js";
import { QuoteError } from "../pricing/errors.js";
import { PaymentMoveRefusedError } from "../store/paymentOrders.js";
import { PAGE_HEADERS } from "./html.js";
import { LOCALE_NAMES, LOCALES, messagesFor, negotiateLocale, translator, type Locale, type Translate } from "./i18n.js";
import { invalidPage, messagePage, payPage, qrAmountPage, type PageLanguage } from "./pages.js";
import { paymentUri } from "./paymentUri.js";
import { payStatusOf, payStatusSchema } from "./payStatus.js";
import { qrSvg } from "./qrSvg.js";
import { findPaymentOrderById, merchantName, wasPayableOn } from "./readModel.js";

// read once at start: the page's only script and stylesheet (served from our origin, so the CSP needs no inline code)
const ASSETS: Record<string, { type: string; body: string }> = {
  "pay.js": { type: "text/javascript; charset=utf-8", body: readFileSync(new URL("./assets/pay.js", import.meta.url), "utf8") },
  "pay.css": { type: "text/css; charset=utf-8", body: readFileSync(new URL("./assets/pay.css", import.meta.url), "utf8") },
};

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const QR_CODE = /^[A-Za-z0-9_-]{22}$/;

type PayQuery = { accessSign?: string; payOrderId?: string; merchantOrderId?: string; chainCode?: string; lang?: string };

/** The payer's language choice, kept a year so the pages that follow (a merchant QR's order page) keep it. */
const LANG_COOKIE = "pay_lang";

/**
 * The hosted payment page, served under the path of `config.payPageUrl` (default /pay):
 * - `GET /pay?accessSign=&merchantOrderId=&payOrderId=&chainCode=`: the order's page (seed 003's URL)
 * - `GET /pay/status?payOrderId=&accessSign=`: the JSON the page polls
 * - `POST /pay/choose` (payOrderId, accessSign, choice = `<chainId>:<token>`): the payer pays with another
 *   network or coin of the order's quote (the merchant's payment/payInfo/update), then sees the new page
 * - `GET /pay/m/<code>` and `POST /pay/m/<code>`: a static merchant QR (seed 004): the payer types an
 *   amount, which becomes an ordinary payment order, then goes to that order's page
 * - `GET /pay/assets/pay.js|pay.css`
 * A link whose accessSign does not check out answers 404 "link invalid", the same as an unknown order.
 * Every page speaks the payer's language: `?lang=` (remembered in a cookie), else the cookie, else
 * `Accept-Language`; each page links the other languages.
 */
export function payPageRoutes(ctx: GatewayContext) {
  const base = new URL(ctx.config.payPageUrl).pathname.replace(/\/+$/, "") || "/pay";
  const assetBase = `${base}/assets`;
  // order creation from a public page leases addresses: a few per minute per payer and code
  const qrLimiter = createRateLimiter({ ratePerSecond: 0.2, burst: 10 });
  // a switch leases an address too: a few per order
  const chooseLimiter = createRateLimiter({ ratePerSecond: 0.1, burst: 6 });

  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.status(status).headers(PAGE_HEADERS).type("text/html; charset=utf-8").send(body);

  /** The request's language, its translator and the language switch's links (the same URL with `lang=`). */
  function languageOf(request: FastifyRequest, reply: FastifyReply): PageLanguage {
    const lang = (request.query as PayQuery | undefined)?.lang;
    const chosen = typeof lang === "string" ? lang : undefined;
    const cookie = /(?:^|;\s*)pay_lang=([^;]*)/.exec(request.headers.cookie ?? "")?.[1];
    const locale = negotiateLocale(request.headers["accept-language"], chosen ?? cookie);
    if (chosen && chosen === locale) reply.header("set-cookie", `${LANG_COOKIE}=${locale}; Path=${base}; Max-Age=31536000; SameSite=Lax`);
    const url = new URL(request.url, "http://page.invalid");
    const switchLinks = LOCALES.map((l: Locale) => {
      url.searchParams.set("lang", l);
      return { locale: l, name: LOCALE_NAMES[l], href: `${url.pathname}${url.search}`, current: l === locale };
    });
    return { locale, t: translator(locale, "pay"), switchLinks, switchLabel: translator(locale, "common")("language") };
  }
  /** The same language for a page that must not echo the link it was given (an invalid link): the switch keeps only `lang`. */
  const bare = (l: PageLanguage): PageLanguage => ({
    ...l,
    switchLinks: l.switchLinks.map((s) => ({ ...s, href: `${s.href.split("?")[0]}?lang=${encodeURIComponent(s.locale)}` })),
  });

  /** The order the query names, only if its accessSign (and any other parameter given) checks out. */
  async function authorised(q: PayQuery) {
    const id = q.payOrderId ?? "";
    const sign = q.accessSign ?? "";
    if (!ULID.test(id) || !signaturesEqual(accessSign(ctx.accessKey, id), sign)) return null;
    const o = await findPaymentOrderById(ctx.db, id);
    if (!o) return null;
    if (q.merchantOrderId !== undefined && q.merchantOrderId !== o.merchantOrderId) return null;
    if (q.chainCode !== undefined && q.chainCode !== ctx.chain(o.chainId).code) {
      // a link from before the payer switched networks names the earlier chain: it still opens the order
      const earlier = ctx.config.chains.find((c) => c.code === q.chainCode);
      if (!earlier || !(await wasPayableOn(ctx.db, o.id, earlier.chainId))) return null;
    }
    return o;
  }

  return async function (app: FastifyInstance) {
    app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string", bodyLimit: 4096 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    app.get<{ Params: { name: string } }>(`${assetBase}/:name`, async (request, reply) => {
      const a = ASSETS[request.params.name];
      if (!a) {
        const l = languageOf(request, reply);
        return html(reply, 404, messagePage(assetBase, l.t("notFoundTitle"), l.t("notFoundText"), bare(l)));
      }
      return reply.headers({ "x-content-type-options": "nosniff", "cache-control": "public, max-age=300" }).type(a.type).send(a.body);
    });

    /** The order's page; `chooseError` when the payer's switch was refused (the status says why). */
    async function orderPage(
      reply: FastifyReply,
      language: PageLanguage,
      o: NonNullable<Awaited<ReturnType<typeof authorised>>>,
      status = 200,
      chooseError?: string,
    ) {
      if (!o.receiptAddress) return html(reply, 404, invalidPage(assetBase, bare(language)));
      const chain = ctx.chain(o.chainId);
      const token = checksum(o.tokenAddress)!;
      const receipt = checksum(o.receiptAddress)!;
      // the QR asks for what is still due: the rest of an underpaid order, else the whole amount
      const due = o.seenAmount > 0n && o.seenAmount < o.amount ? o.amount - o.seenAmount : o.amount;
      const uri = paymentUri({ chainId: o.chainId, token, receipt, amount: due });
      const statusUrl = `${base}/status?${new URLSearchParams({ payOrderId: o.id, accessSign: o.accessSign })}`;
      const tokenConfig = chain.tokens.find((t) => t.address.toLowerCase() === o.tokenAddress.toLowerCase());
      const choices = paymentChoicesOf(ctx, o).map((c) => ({
        value: `${c.chain.chainId}:${c.token.address.toLowerCase()}`,
        // the token's name tells two coins of one symbol apart (USDT and a bridged USDT on one network)
        label: language.t("chooseOption", {
          symbol: c.token.name ? `${c.token.symbol} · ${c.token.name}` : c.token.symbol,
          network: c.chain.name,
        }),
        current: c.chain.chainId === o.chainId && c.token.address.toLowerCase() === o.tokenAddress.toLowerCase(),
      }));
      return html(
        reply,
        status,
        payPage({
          ...language,
          choices,
          chooseAction: `${base}/choose`,
          chooseError,
          messages: { ...messagesFor(language.locale, "common"), ...messagesFor(language.locale, "pay") },
          status: await payStatusOf(ctx, o),
          explorerUrl: chain.explorerUrl,
          tokenName: tokenConfig?.name,
          ...(o.quote
            ? {
                fiat: {
                  amount: o.quoteAmount,
                  currency: o.quote.currency,
                  rate: o.quote.rate,
                  lockedUntil: o.quote.lockedUntil,
                  pairs: o.quote.sources.map((x) => x.pair),
                },
              }
            : {}),
          assetBase,
          statusUrl,
          merchantName: o.merchantName,
          payOrderId: o.id,
          merchantOrderId: o.merchantOrderId,
          accessSign: o.accessSign,
          chainId: o.chainId,
          networkName: chain.name,
          token,
          tokenSymbol: o.tokenSymbol,
          native: o.tokenAddress.toLowerCase() === NATIVE_TOKEN,
          decimals: o.tokenDecimals,
          amount: formatAmount(o.amount, o.tokenDecimals),
          amountBaseUnits: o.amount.toString(),
          due: formatAmount(due, o.tokenDecimals),
          dueBaseUnits: due.toString(),
          receipt,
          paymentUri: uri,
          qrSvg: await qrSvg(uri),
          expireAt: o.expiresAt.getTime(),
        }),
      );
    }

    app.get<{ Querystring: PayQuery }>(base, async (request, reply) => {
      const language = languageOf(request, reply);
      const o = await authorised(request.query);
      if (!o) return html(reply, 404, invalidPage(assetBase, bare(language)));
      return orderPage(reply, language, o);
    });

    app.post<{ Querystring: PayQuery; Body: Record<string, string> | undefined }>(`${base}/choose`, async (request, reply) => {
      const language = languageOf(request, reply);
      const b = request.body ?? {};
      const o = await authorised({ payOrderId: b.payOrderId, accessSign: b.accessSign });
      if (!o) return html(reply, 404, invalidPage(assetBase, bare(language)));
      const { t } = language;
      const choice = paymentChoicesOf(ctx, o).find((c) => `${c.chain.chainId}:${c.token.address.toLowerCase()}` === b.choice);
      if (!choice) return orderPage(reply, language, o, 400, t("chooseRefused", { reason: t("chooseClosed") }));
      if (!chooseLimiter.take(o.id).ok) return orderPage(reply, language, o, 429, t("tooManyPayments"));
      try {
        const { order } = await movePaymentTo(ctx, {
          merchantId: o.merchantId,
          ref: { payOrderId: o.id },
          chain: choice.chain,
          token: choice.token,
        });
        const next = new URL(paymentUrlOf(ctx, order));
        if (request.query.lang) next.searchParams.set("lang", language.locale);
        return reply.headers(PAGE_HEADERS).redirect(`${next.pathname}${next.search}`, 303);
      } catch (err) {
        let reason: string;
        if (err instanceof PaymentMoveRefusedError)
          reason = err.refusal === "confirming" ? t("chooseBusy") : err.refusal === "closed" ? t("chooseClosed") : err.shortMessage;
        else if (err instanceof QuoteError)
          reason = t("chooseNoPrice"); // a feed refused now (stale, off-peg): nothing moved
        else throw err;
        return orderPage(
          reply,
          language,
          (await authorised({ payOrderId: o.id, accessSign: o.accessSign }))!,
          409,
          t("chooseRefused", { reason }),
        );
      }
    });

    app.get<{ Querystring: PayQuery }>(
      `${base}/status`,
      {
        schema: {
          summary: "Public: the payment page's live status of one order (needs the order's accessSign)",
          querystring: {
            type: "object",
            required: ["payOrderId", "accessSign"],
            properties: { payOrderId: { type: "string", maxLength: 64 }, accessSign: { type: "string", maxLength: 128 } },
          },
          response: { 200: payStatusSchema },
        },
      },
      async (request, reply) => {
        const o = await authorised({ payOrderId: request.query.payOrderId, accessSign: request.query.accessSign });
        reply.headers({ "cache-control": "no-store", "x-content-type-options": "nosniff" });
        if (!o) return reply.status(404).send({ code: 40401, msg: "Link invalid: check the payment link", data: null });
        return payStatusOf(ctx, o);
      },
    );

    async function qrPage(code: string) {
      if (!QR_CODE.test(code)) return null;
      const qr = await findMerchantQr(ctx.db, code);
      if (!qr) return null;
      const chain = ctx.chain(qr.chainId);
      return { qr, chain, name: await merchantName(ctx.db, qr.merchantId) };
    }
    const amountView = (p: NonNullable<Awaited<ReturnType<typeof qrPage>>>, code: string, language: PageLanguage) => ({
      ...language,
      assetBase,
      action: `${base}/m/${code}`,
      merchantName: p.name,
      label: p.qr.label,
      networkName: p.chain.name,
      tokenSymbol: p.qr.tokenSymbol,
      decimals: p.qr.tokenDecimals,
      maxAmount: p.qr.maxAmount === null ? null : formatAmount(p.qr.maxAmount, p.qr.tokenDecimals),
      // one order per rendered form: a double submit finds the same order instead of making a second one
      ref: newId(),
    });

    app.get<{ Params: { code: string }; Querystring: PayQuery }>(`${base}/m/:code`, async (request, reply) => {
      const language = languageOf(request, reply);
      const p = await qrPage(request.params.code);
      if (!p) return html(reply, 404, invalidPage(assetBase, bare(language)));
      return html(reply, 200, qrAmountPage(amountView(p, request.params.code, language)));
    });

    app.post<{ Params: { code: string }; Querystring: PayQuery; Body: Record<string, string> | undefined }>(
      `${base}/m/:code`,
      async (request, reply) => {
        const code = request.params.code;
        const language = languageOf(request, reply);
        const { t } = language;
        const p = await qrPage(code);
        if (!p) return html(reply, 404, invalidPage(assetBase, bare(language)));
        const typed = typeof request.body?.amount === "string" ? request.body.amount.trim() : "";
        const ref = typeof request.body?.ref === "string" ? request.body.ref : "";
        const again = (status: number, error: string) =>
          html(reply, status, qrAmountPage({ ...amountView(p, code, language), amount: typed.slice(0, 100), error }));
        if (!ULID.test(ref)) return again(400, t("formExpired"));
        const error = checkAmount(typed, p.qr.tokenDecimals, p.qr.maxAmount, p.qr.tokenSymbol, t);
        if (error) return again(400, error);
        if (!qrLimiter.take(`${request.ip}|${code}`).ok) return again(429, t("tooManyPayments"));
        try {
          const { order } = await createPaymentOrderFor(ctx, p.qr.merchantId, {
            merchantOrderId: `qr:${code}:${ref}`,
            chainId: p.qr.chainId,
            token: p.qr.tokenAddress,
            amount: typed,
            notifyUrl: p.qr.notifyUrl,
            ...(p.qr.redirectionUrl ? { redirectionUrl: p.qr.redirectionUrl } : {}),
          });
          return reply.headers(PAGE_HEADERS).redirect(paymentUrlOf(ctx, order), 303);
        } catch (err) {
          const e = toApiError(err);
          if (e.statusCode === 409) return again(409, t("formUsed"));
          if (e.statusCode >= 500) request.log.error({ err, code: e.code }, "merchant QR order failed");
          return again(e.statusCode, e.statusCode >= 500 ? t("couldNotStart") : e.shortMessage);
        }
      },
    );
  };
}

/** Strict check of a typed amount: digits, at most `decimals` after the dot, above zero, at most `max`. */
export function checkAmount(
  typed: string,
  decimals: number,
  max: bigint | null,
  symbol: string,
  t: Translate<"pay"> = translator("en", "pay"),
): string | null {
  if (!/^(0|[1-9][0-9]{0,70})(\.[0-9]+)?$/.test(typed)) return t("amountFormat");
  const frac = typed.split(".")[1] ?? "";
  if (frac.length > decimals) return t("amountDecimals", { symbol, decimals });
  let value: bigint;
  try {
    value = parseAmount(typed, decimals);
  } catch {
    return t("amountTooLarge");
  }
  if (value === 0n) return t("amountZero");
  if (max !== null && value > max) return t("amountAboveMax", { max: formatAmount(max, decimals), symbol });
  return null;
}
