import type { FastifyInstance } from "fastify";
import { countPendingPayouts, dailyVolume, merchantWebhookBacklog } from "../../store/consoleQueries.js";
import type { DoctorFinding } from "../context.js";
import type { ConsoleRouteKit } from "../plugin.js";
import { readVaults } from "../vault.js";
import { overviewPage, PERIODS } from "../views/overview.js";

const DAY = 86_400_000;

/** `GET /overview?days=7|30|90`: vault balances and fees, received volume with a chart, approvals, webhooks, doctor. */
export function overviewRoutes(kit: ConsoleRouteKit) {
  const { ctx } = kit;
  return async function (app: FastifyInstance) {
    app.get<{ Querystring: { days?: string } }>("/overview", async (request, reply) => {
      const user = kit.user(request);
      const days = PERIODS.find((p) => String(p) === request.query.days) ?? 30;
      const todayStart = Math.floor(Date.now() / DAY) * DAY;
      const from = new Date(todayStart - (days - 1) * DAY);
      const to = new Date(todayStart + DAY);
      const dayList = Array.from({ length: days }, (_, i) => new Date(from.getTime() + i * DAY).toISOString().slice(0, 10));
      let doctorError = false;
      const [vaults, volume, pending, webhooks, doctor] = await Promise.all([
        readVaults(ctx, user.merchantId, user.chainIds),
        dailyVolume(ctx.db, { merchantId: user.merchantId, chainIds: user.chainIds, from, to }),
        countPendingPayouts(ctx.db, user.merchantId, user.chainIds),
        merchantWebhookBacklog(ctx.db, user.merchantId),
        ctx.doctor
          ? ctx.doctor(user.merchantId).catch((err): DoctorFinding[] | null => {
              request.log.warn({ err }, "doctor failed for the console");
              doctorError = true;
              return null;
            })
          : Promise.resolve(null),
      ]);
      const v = await kit.view(request);
      return kit.html(reply, 200, overviewPage(v, { days, vaults, dayList, volume, pending, webhooks, doctor, doctorError }));
    });
  };
}
