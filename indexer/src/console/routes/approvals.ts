import type { FastifyInstance } from "fastify";
import type { Hex } from "viem";
import { findConsoleOrder, listPendingPayouts } from "../../store/consoleQueries.js";
import { rejectPayoutApplication, type PayoutOrderKind } from "../../store/payoutOrders.js";
import { approveFromConsole, batchFromConsole, batchWalletTypedDataJson, walletTypedDataJson, type ApprovalItem } from "../approve.js";
import { checksummed } from "../format.js";
import { amountText, summarize } from "../orders.js";
import type { ConsoleRouteKit } from "../plugin.js";
import { ConsoleError, requireRole } from "../session.js";
import { readVaults } from "../vault.js";
import { approvalsPage } from "../views/approvals.js";

const PAYOUT_KINDS: readonly PayoutOrderKind[] = ["refund", "withdrawal", "settlement"];
const isPayoutKind = (k: unknown): k is PayoutOrderKind => PAYOUT_KINDS.includes(k as PayoutOrderKind);

type ApproveBody = { items?: { kind: string; id: string }[]; signature?: string; kind?: string; id?: string };

/**
 * - `GET /approvals`: refunds, withdrawals and settlements pending approval, with who must sign
 * - `POST /approvals/approve` (approver): JSON `{items: [{kind, id}], signature}` from the wallet's
 *   eth_signTypedData_v4 over the payout's typed data (or a form `{kind, id}` when the gateway holds the key)
 * - `POST /approvals/batch` (approver): JSON `{items}` → what one wallet signature approves for those payouts
 *   (every line of their applications, each recipient and amount) and its typed data for eth_signTypedData_v4
 * - `POST /approvals/:kind/:id/reject` (approver): with a reason; a refund's amount becomes refundable again
 */
export function approvalRoutes(kit: ConsoleRouteKit) {
  const { ctx } = kit;
  return async function (app: FastifyInstance) {
    app.get("/approvals", async (request, reply) => {
      const user = kit.user(request);
      const [pending, [m], vaults] = await Promise.all([
        listPendingPayouts(ctx.db, user.merchantId, user.chainIds),
        ctx.db.query<{ payout_signer: string | null; payout_key_mode: "merchant" | "gateway" }>(
          "SELECT payout_signer, payout_key_mode FROM merchants WHERE id = $1",
          [user.merchantId],
        ),
        readVaults(ctx, user.merchantId, user.chainIds),
      ]);
      const signer = m?.payout_signer ?? null;
      const vaultSignerMismatch = vaults
        .filter((v) => !v.error && (v.signer?.toLowerCase() ?? null) !== signer?.toLowerCase())
        .map((v) => ({ chain: v.name, signer: v.signer }));
      const v = await kit.view(request);
      return kit.html(
        reply,
        200,
        approvalsPage(v, {
          pending: pending.map((order) => ({ order, typedData: walletTypedDataJson(ctx, order) })),
          signer,
          vaultSignerMismatch,
          keyMode: m?.payout_key_mode ?? "merchant",
        }),
      );
    });

    const itemsOf = (b: ApproveBody): ApprovalItem[] => {
      const raw = Array.isArray(b.items) ? b.items : b.kind !== undefined ? [{ kind: b.kind, id: b.id ?? "" }] : [];
      return raw.slice(0, 100).map((x) => {
        if (!isPayoutKind(x?.kind) || typeof x.id !== "string" || x.id.length > 64) throw new ConsoleError(400, "error.badRequest");
        return { kind: x.kind, id: x.id };
      });
    };

    app.post<{ Body: ApproveBody }>("/approvals/batch", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "approver");
      const b = await batchFromConsole(ctx, user, itemsOf(request.body ?? {}));
      const v = await kit.view(request);
      return reply.headers({ "cache-control": "no-store" }).send({
        chain: ctx.chain(b.chainId)?.name ?? String(b.chainId),
        count: b.lines.length,
        typed: batchWalletTypedDataJson(ctx, b),
        payouts: b.batch.payouts.map((p) => {
          const line = b.lines.find((l) => l.payoutId === p.payoutId)!;
          return {
            kind: v.t(`one.${line.kind}`),
            ref: line.merchantRef ?? "",
            to: checksummed(line.toAddress),
            amount: amountText(summarize(ctx, { kind: line.kind, order: line } as never), line.amount),
            payoutId: p.payoutId.toString(),
          };
        }),
      });
    });

    app.post<{ Body: ApproveBody }>("/approvals/approve", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "approver");
      const b = request.body ?? {};
      const items = itemsOf(b);
      const signature = typeof b.signature === "string" && b.signature !== "" ? (b.signature as Hex) : undefined;
      const approved = await approveFromConsole(ctx, user, items, signature);
      request.log.info(
        { merchantId: user.merchantId.toString(), approved: approved.map((o) => o.id), by: user.address },
        "console payout approved",
      );
      if ((request.headers["content-type"] ?? "").includes("application/json")) {
        return reply
          .headers({ "cache-control": "no-store" })
          .send({ approved: approved.map((o) => ({ kind: o.kind, id: o.id, state: o.status })) });
      }
      return kit.done(reply, "/approvals", "approved");
    });

    app.post<{ Params: { kind: string; id: string }; Body: { reason?: string } }>("/approvals/:kind/:id/reject", async (request, reply) => {
      const user = kit.user(request);
      requireRole(user, "approver");
      const { kind, id } = request.params;
      const reason = String(request.body?.reason ?? "").trim();
      if (!reason || reason.length > 256) throw new ConsoleError(400, "approvals.reasonNeeded");
      const found = isPayoutKind(kind) ? await findConsoleOrder(ctx.db, kind, user.merchantId, id, user.chainIds) : null;
      if (!found || found.kind === "payment" || found.kind === "recharge") throw new ConsoleError(404, "error.notFound");
      // a withdrawal's lines are one application: rejecting one line rejects the merchant's whole request
      await rejectPayoutApplication(ctx.db, { kind: found.kind, merchantId: user.merchantId, ref: { no: found.order.no }, reason });
      request.log.info({ merchantId: user.merchantId.toString(), kind, id, by: user.address }, "console payout rejected");
      return kit.done(reply, "/approvals", "rejected");
    });
  };
}
