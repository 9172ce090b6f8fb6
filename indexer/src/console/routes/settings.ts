import { createHash, randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InvalidAmountError } from "../../domain/errors.js";
import { parseAmount } from "../../domain/money.js";
import { checkNotifyUrl, WebhookTargetRefusedError } from "../../notify/urlGuard.js";
import { formatTolerancePercent, MAX_TOLERANCE_BPS, parseTolerancePercent } from "../../pricing/tolerance.js";
import { createLabeledApiKey, listApiKeys, revokeApiKey } from "../../store/apiKeys.js";
import { updateConsoleSession } from "../../store/consoleSessions.js";
import { IdempotencyConflictError } from "../../store/errors.js";
import { createMerchantQr } from "../../store/merchantQr.js";
import { disableMerchantQr, getMerchantQrOf, listMerchantQrCodes } from "../../store/merchantQrAdmin.js";
import { getMerchantSettings, rotateWebhookSecret, updateMerchantSettings } from "../../store/merchants.js";
import { isConsoleRole, listConsoleMembers, MemberChangeError, removeConsoleMember, upsertConsoleMember } from "../../store/members.js";
import { getUnderpaymentTolerance, setUnderpaymentTolerance } from "../../store/quotes.js";
import { buildStatement, parsePeriodBound, statementToCsv, statementToJson } from "../../store/statements.js";
import { qrSvg } from "../../web/qrSvg.js";
import type { ConsoleRouteKit } from "../plugin.js";
import { ConsoleError, requireRole } from "../session.js";
import { qrPrintPage, settingsPage, type SettingsData } from "../views/settings.js";

/** the longest statement the console serves in one download (bigger: the `bill` CLI) */
const MAX_STATEMENT_DAYS = 400;

type Form = Record<string, string | undefined>;

/**
 * `GET /settings` and its writes: API keys (create with a label, the secret shown once; revoke), webhook
 * secret rotation (shown once), the recharge/withdrawal/settlement callback URL, the underpayment tolerance,
 * members and roles, static QR codes (create, disable, print), the statement download and the sandbox
 * switch. Keys, secrets, callbacks, the tolerance and members need an admin; QR codes an operator.
 */
export function settingsRoutes(kit: ConsoleRouteKit) {
  const { ctx } = kit;
  const qrLink = (code: string) => `${ctx.config.payPageUrl.replace(/\/+$/, "")}/m/${code}`;

  const render = async (request: FastifyRequest, reply: FastifyReply, status: number, extra: Partial<SettingsData> = {}) => {
    const user = kit.user(request);
    const [merchant, toleranceBps, keys, members, qr] = await Promise.all([
      getMerchantSettings(ctx.db, ctx.box, user.merchantId),
      getUnderpaymentTolerance(ctx.db, user.merchantId),
      listApiKeys(ctx.db, user.merchantId),
      listConsoleMembers(ctx.db, user.merchantId),
      listMerchantQrCodes(ctx.db, user.merchantId, user.chainIds),
    ]);
    const v = await kit.view(request);
    return kit.html(
      reply,
      status,
      settingsPage(v, { merchant, toleranceBps, keys, members, qrCodes: qr.map((q) => ({ ...q, url: qrLink(q.code) })), ...extra }),
    );
  };
  const refuse = (request: FastifyRequest, reply: FastifyReply, section: string, message: string, form: Form) =>
    render(request, reply, 400, {
      error: { section, message },
      form: Object.fromEntries(Object.entries(form).map(([k, x]) => [k, String(x ?? "").slice(0, 2048)])),
    });
  const text = (v: unknown, max: number) =>
    String(v ?? "")
      .trim()
      .slice(0, max);

  /** A webhook URL the merchant gives: http(s), and not aimed at the gateway's own network (unless allowed). */
  const urlProblem = async (request: FastifyRequest, url: string, webhook = true): Promise<string | null> => {
    const t = kit.t(request);
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return t("settings.badUrl");
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") return t("settings.badUrl");
    if (!webhook) return null;
    try {
      await checkNotifyUrl(url, { allowPrivate: ctx.config.allowPrivateWebhookTargets ?? false, resolve: false });
    } catch (e) {
      if (e instanceof WebhookTargetRefusedError) return t("settings.privateUrl", { reason: e.shortMessage });
      throw e;
    }
    return null;
  };

  return async function (app: FastifyInstance) {
    app.get("/settings", async (request, reply) => render(request, reply, 200));

    app.post<{ Body: Form }>("/settings/api-keys", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "admin");
      const t = kit.t(request);
      const label = text(request.body?.label, 80) || null;
      const made = await createLabeledApiKey(ctx.db, ctx.box, user.merchantId, label);
      request.log.info({ merchantId: user.merchantId.toString(), key: made.apiKey, by: user.address }, "console API key created");
      return render(request, reply, 200, {
        reveal: {
          title: t("settings.keyCreated"),
          fields: [
            { label: t("settings.keyId"), value: made.apiKey, id: "new-api-key" },
            { label: t("settings.apiSecret"), value: made.apiSecret, id: "new-api-secret" },
          ],
        },
      });
    });

    app.post<{ Params: { keyId: string } }>("/settings/api-keys/:keyId/revoke", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "admin");
      if (!(await revokeApiKey(ctx.db, user.merchantId, request.params.keyId))) throw new ConsoleError(404, "error.notFound");
      request.log.info({ merchantId: user.merchantId.toString(), key: request.params.keyId, by: user.address }, "console API key revoked");
      return kit.done(reply, "/settings", "keyRevoked", "#api-keys");
    });

    app.post("/settings/webhook-secret", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "admin");
      const t = kit.t(request);
      const secret = await rotateWebhookSecret(ctx.db, ctx.box, user.merchantId);
      request.log.info({ merchantId: user.merchantId.toString(), by: user.address }, "console webhook secret rotated");
      return render(request, reply, 200, {
        reveal: {
          title: t("settings.secretRotated"),
          fields: [{ label: t("settings.webhookSecret"), value: secret, id: "new-webhook-secret" }],
        },
      });
    });

    app.post<{ Body: Form }>("/settings/callbacks", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "admin");
      const url = text(request.body?.rechargeNotifyUrl, 2048);
      if (url) {
        const problem = await urlProblem(request, url);
        if (problem) return refuse(request, reply, "callbacks", problem, { rechargeNotifyUrl: url });
      }
      await updateMerchantSettings(ctx.db, ctx.box, user.merchantId, { rechargeNotifyUrl: url || null });
      return kit.done(reply, "/settings", "saved", "#webhooks");
    });

    // the same store function and bounds as the API's merchant/settings/update; orders keep the value of their creation
    app.post<{ Body: Form }>("/settings/tolerance", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "admin");
      const t = kit.t(request);
      const written = text(request.body?.tolerancePercent, 20);
      const bps = parseTolerancePercent(written);
      if (bps === null)
        return refuse(request, reply, "tolerance", t("settings.badTolerance", { max: formatTolerancePercent(MAX_TOLERANCE_BPS) }), {
          tolerancePercent: written,
        });
      await setUnderpaymentTolerance(ctx.db, user.merchantId, bps);
      request.log.info({ merchantId: user.merchantId.toString(), bps, by: user.address }, "console underpayment tolerance set");
      return kit.done(reply, "/settings", "toleranceSaved", "#tolerance");
    });

    app.post<{ Body: Form }>("/settings/members", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "admin");
      const t = kit.t(request);
      const b = request.body ?? {};
      const address = text(b.address, 42).toLowerCase();
      const role = text(b.role, 20);
      const label = text(b.label, 80) || null;
      const form = { address, role, memberLabel: label ?? "" };
      if (!/^0x[0-9a-f]{40}$/.test(address)) return refuse(request, reply, "members", t("settings.badAddress"), form);
      if (!isConsoleRole(role)) return refuse(request, reply, "members", t("settings.badRole"), form);
      // your own role and the payout signer's are not yours to change here (no locking yourself out)
      if (address === user.address) return refuse(request, reply, "members", t("settings.notYourself"), form);
      const members = await listConsoleMembers(ctx.db, user.merchantId);
      if (members.some((m) => m.signer && m.address === address))
        return refuse(request, reply, "members", t("settings.memberIsSigner"), form);
      try {
        await upsertConsoleMember(ctx.db, { merchantId: user.merchantId, address, role, label, addedBy: user.address });
      } catch (e) {
        if (e instanceof MemberChangeError) return refuse(request, reply, "members", e.shortMessage, form);
        throw e;
      }
      request.log.info({ merchantId: user.merchantId.toString(), member: address, role, by: user.address }, "console member saved");
      return kit.done(reply, "/settings", "memberSaved", "#members");
    });

    app.post<{ Params: { address: string } }>("/settings/members/:address/remove", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "admin");
      const address = request.params.address.toLowerCase();
      if (address === user.address) throw new ConsoleError(409, "settings.notYourself");
      if (!(await removeConsoleMember(ctx.db, user.merchantId, address))) throw new ConsoleError(404, "error.notFound");
      request.log.info({ merchantId: user.merchantId.toString(), member: address, by: user.address }, "console member removed");
      return kit.done(reply, "/settings", "memberRemoved", "#members");
    });

    app.post<{ Body: Form }>("/settings/qr", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "operator");
      const t = kit.t(request);
      const b = request.body ?? {};
      const form = {
        qrLabel: text(b.label, 80),
        coin: text(b.coin, 60),
        notifyUrl: text(b.notifyUrl, 2048),
        redirectionUrl: text(b.redirectionUrl, 2048),
        maxAmount: text(b.maxAmount, 80),
      };
      const fail = (message: string) => refuse(request, reply, "qr", message, form);
      if (!form.qrLabel) return fail(t("settings.labelNeeded"));
      const m = /^(\d+):(0x[0-9a-f]{40})$/.exec(form.coin);
      const chain = m ? ctx.chain(Number(m[1])) : undefined;
      const token = chain && user.chainIds.includes(chain.chainId) ? ctx.token(chain.chainId, m![2]!) : undefined;
      if (!chain || !token) return fail(t("settings.badCoin"));
      const problem =
        (await urlProblem(request, form.notifyUrl)) ?? (form.redirectionUrl ? await urlProblem(request, form.redirectionUrl, false) : null);
      if (problem) return fail(problem);
      let maxAmount: bigint | null = null;
      if (form.maxAmount) {
        try {
          maxAmount = parseAmount(form.maxAmount, token.decimals);
        } catch (e) {
          if (e instanceof InvalidAmountError) return fail(t("settings.badMax", { decimals: token.decimals }));
          throw e;
        }
        if (maxAmount === 0n) return fail(t("settings.badMax", { decimals: token.decimals }));
      }
      // the same request hash as the API's qrcode/create, so a label made in either place is the same code
      const requestHash = createHash("sha256")
        .update(
          JSON.stringify([
            chain.chainId,
            token.address.toLowerCase(),
            form.notifyUrl,
            form.redirectionUrl || null,
            maxAmount?.toString() ?? null,
          ]),
        )
        .digest("hex");
      try {
        const { qr, created } = await createMerchantQr(ctx.db, {
          code: randomBytes(16).toString("base64url"),
          merchantId: user.merchantId,
          label: form.qrLabel,
          chainId: chain.chainId,
          tokenAddress: token.address,
          tokenSymbol: token.symbol,
          tokenDecimals: token.decimals,
          notifyUrl: form.notifyUrl,
          redirectionUrl: form.redirectionUrl || null,
          maxAmount,
          requestHash,
        });
        if (!created && (await getMerchantQrOf(ctx.db, user.merchantId, qr.code))?.disabledAt) return fail(t("settings.labelTaken"));
      } catch (e) {
        if (e instanceof IdempotencyConflictError) return fail(t("settings.labelTaken"));
        throw e;
      }
      return kit.done(reply, "/settings", "qrCreated", "#qr");
    });

    app.post<{ Params: { code: string } }>("/settings/qr/:code/disable", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "operator");
      if (!(await disableMerchantQr(ctx.db, user.merchantId, request.params.code))) throw new ConsoleError(404, "error.notFound");
      return kit.done(reply, "/settings", "qrDisabled", "#qr");
    });

    app.get<{ Params: { code: string } }>("/settings/qr/:code/print", async (request, reply) => {
      const user = kit.user(request);
      const q = await getMerchantQrOf(ctx.db, user.merchantId, request.params.code);
      if (!q || q.disabledAt || !user.chainIds.includes(q.chainId)) throw new ConsoleError(404, "error.notFound");
      const url = qrLink(q.code);
      const v = await kit.view(request);
      return kit.html(
        reply,
        200,
        qrPrintPage(v, {
          label: q.label,
          merchant: user.merchantName,
          coin: `${q.tokenSymbol} · ${ctx.chain(q.chainId)?.name ?? q.chainId}`,
          url,
          svg: await qrSvg(url),
        }),
      );
    });

    app.get<{ Querystring: Form }>("/settings/statement", async (request, reply) => {
      const user = kit.user(request);
      const t = kit.t(request);
      const q = request.query;
      const from = parsePeriodBound(text(q.from, 35), "from");
      const to = parsePeriodBound(text(q.to, 35), "to");
      const form = { from: text(q.from, 35), to: text(q.to, 35) };
      if (!from || !to || to <= from) return refuse(request, reply, "statement", t("settings.badPeriod"), form);
      if (to.getTime() - from.getTime() > MAX_STATEMENT_DAYS * 86_400_000)
        return refuse(request, reply, "statement", t("settings.periodTooLong", { days: MAX_STATEMENT_DAYS }), form);
      const statement = await buildStatement(ctx.db, {
        merchantId: user.merchantId,
        from,
        to,
        tokens: (chainId, address) => {
          const tk = ctx.token(chainId, address);
          return tk ? { symbol: tk.symbol, decimals: tk.decimals } : undefined;
        },
      });
      const name = `statement-${user.merchantId}-${form.from}-${form.to}`;
      reply.headers({ "cache-control": "no-store", "x-content-type-options": "nosniff" });
      if (q.format === "json") {
        return reply
          .header("content-disposition", `attachment; filename="${name}.json"`)
          .type("application/json; charset=utf-8")
          .send(JSON.stringify(statementToJson(statement), null, 2));
      }
      return reply
        .header("content-disposition", `attachment; filename="${name}.csv"`)
        .type("text/csv; charset=utf-8")
        .send(statementToCsv(statement));
    });

    app.post<{ Body: Form }>("/settings/sandbox", async (request, reply) => {
      const user = kit.user(request);
      if (!ctx.hasTest || !ctx.hasLive) throw new ConsoleError(409, "settings.sandboxOnly");
      await updateConsoleSession(ctx.db, user.session.tokenHash, { sandbox: request.body?.sandbox === "1" });
      return kit.done(reply, "/settings", request.body?.sandbox === "1" ? "sandboxOn" : "sandboxOff", "#sandbox");
    });
  };
}
