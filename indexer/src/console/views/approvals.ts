import type { PayoutOrderRecord } from "../../store/payoutOrders.js";
import { roleAllows } from "../../store/members.js";
import { escapeHtml as e } from "../../web/html.js";
import { checksummed, time } from "../format.js";
import { amountText, summarize } from "../orders.js";
import { csrfField, page, type ViewContext } from "./layout.js";

export type ApprovalsData = {
  pending: { order: PayoutOrderRecord; typedData: string }[];
  /** the address whose signature the vault accepts (the store's registered payout signer) */
  signer: string | null;
  /** the signer each chain's vault holds, where it differs from the registered one (a warning) */
  vaultSignerMismatch: { chain: string; signer: string | null }[];
  keyMode: "merchant" | "gateway";
};

/**
 * The approval queue. Each row carries its EIP-712 typed data for the wallet; "Approve" opens a dialog
 * that shows the recipient and amount, then asks the wallet to sign (eth_signTypedData_v4). Rows can be
 * selected (their `data-kind`/`data-id`): "Approve selected" asks the gateway for the batch of them
 * (`/approvals/batch`), lists every recipient and amount in the dialog, and has the wallet sign ONE
 * PayoutBatch. A withdrawal of several recipients (`data-lines` > 1) is always approved that way.
 */
export function approvalsPage(v: ViewContext, d: ApprovalsData): string {
  const { ctx, t, user } = v;
  const mayApprove = !!user && roleAllows(user.role, "approver");
  const isSigner = !!user && !!d.signer && d.signer.toLowerCase() === user.address;
  const who =
    d.keyMode === "gateway"
      ? `<p>${e(t("approvals.gatewaySigns"))}</p>`
      : d.signer
        ? `<p>${e(t("approvals.mustSign"))} <code id="signer">${e(checksummed(d.signer))}</code>${
            isSigner ? ` <span class="ok">${e(t("approvals.youAreSigner"))}</span>` : ""
          }</p>`
        : `<p class="error">${e(t("approvals.noSigner"))}</p>`;
  const mismatch = d.vaultSignerMismatch
    .map(
      (m) =>
        `<p class="warning" role="note">${e(
          t("approvals.vaultSignerDiffers", { chain: m.chain, signer: m.signer ? checksummed(m.signer) : "—" }),
        )}</p>`,
    )
    .join("");
  const roleNote = mayApprove ? "" : `<p class="warning" role="note">${e(t("approvals.roleNeeded"))}</p>`;

  const linesOf = (o: PayoutOrderRecord) => d.pending.filter((p) => p.order.kind === o.kind && p.order.no === o.no).length;
  const rows = d.pending
    .map(({ order, typedData }) => {
      const s = summarize(ctx, { kind: order.kind, order } as never);
      const chain = ctx.chain(order.chainId)?.name ?? String(order.chainId);
      const to = checksummed(order.toAddress);
      const amount = amountText(s, order.amount);
      const approve =
        d.keyMode === "gateway"
          ? `<form method="post" action="${e(ctx.base)}/approvals/approve" class="inline">${
              user ? csrfField(user) : ""
            }<input type="hidden" name="kind" value="${order.kind}"><input type="hidden" name="id" value="${e(
              order.id,
            )}"><button type="submit" class="primary"${mayApprove ? "" : " disabled"}>${e(t("approvals.approve"))}</button></form>`
          : `<button type="button" class="primary" data-approve${mayApprove && d.signer ? "" : " disabled"}>${e(
              t("approvals.approve"),
            )}</button>`;
      return `<tr id="o-${e(order.id)}" data-kind="${order.kind}" data-id="${e(order.id)}" data-lines="${linesOf(order)}" data-typed="${e(
        typedData,
      )}" data-to="${e(to)}" data-amount="${e(amount)}" data-chain="${e(chain)}" data-payout-id="${order.payoutId}" data-signer="${e(
        d.signer ? checksummed(d.signer) : "",
      )}">
  <td><input type="checkbox" data-select aria-label="${e(t("approvals.selectRow", { ref: order.merchantRef ?? order.id }))}"${
    mayApprove ? "" : " disabled"
  }></td>
  <td>${e(t(`one.${order.kind}`))}</td>
  <td><a href="${e(ctx.base)}/orders/${order.kind}/${e(encodeURIComponent(order.id))}">${e(order.merchantRef)}</a></td>
  <td class="num amount">${e(amount)}</td>
  <td><code class="to">${e(to)}</code></td>
  <td>${e(chain)}</td>
  <td class="num">${order.payoutId}</td>
  <td>${time(order.payoutDeadline)}</td>
  <td class="actions">${approve}
    <details class="reject"><summary>${e(t("approvals.reject"))}</summary>
      <form method="post" action="${e(ctx.base)}/approvals/${order.kind}/${e(encodeURIComponent(order.id))}/reject">${
        user ? csrfField(user) : ""
      }
        <label for="reason-${e(order.id)}">${e(t("approvals.reason"))}</label>
        <input id="reason-${e(order.id)}" name="reason" required maxlength="256">
        <button type="submit"${mayApprove ? "" : " disabled"}>${e(t("approvals.rejectSubmit"))}</button>
      </form></details></td>
</tr>`;
    })
    .join("");

  const batchBar = `<p class="actions"><button type="button" class="primary" id="approve-selected" disabled${
    mayApprove && d.signer ? "" : ` data-never="1"`
  }>${e(t("approvals.approveSelected"))}</button> <span class="hint">${e(t("approvals.batchExplain"))}</span> <span id="batch-msg" role="status" aria-live="polite"></span></p>`;
  const table = d.pending.length
    ? `${batchBar}<div class="table-wrap" tabindex="0"><table id="approvals"><caption class="visually-hidden">${e(t("approvals.title"))}</caption>
  <thead><tr><th scope="col">${e(t("approvals.select"))}</th><th scope="col">${e(t("field.kind"))}</th><th scope="col">${e(t("field.merchantRef"))}</th><th scope="col" class="num">${e(
    t("field.amount"),
  )}</th><th scope="col">${e(t("field.recipient"))}</th><th scope="col">${e(t("field.chain"))}</th><th scope="col" class="num">${e(
    t("detail.payoutId"),
  )}</th><th scope="col">${e(t("detail.deadline"))}</th><th scope="col">${e(t("field.actions"))}</th></tr></thead>
  <tbody>${rows}</tbody></table></div>`
    : `<p id="approvals-empty">${e(t("approvals.none"))}</p>`;

  const dialog = `<dialog id="approve-dialog" aria-labelledby="approve-title">
  <h2 id="approve-title">${e(t("approvals.dialogTitle"))}</h2>
  <p>${e(t("approvals.dialogIntro"))}</p>
  <p id="dlg-batch-intro" hidden></p>
  <dl class="facts">
    <div class="dlg-one"><dt>${e(t("field.recipient"))}</dt><dd><code id="dlg-to"></code></dd></div>
    <div class="dlg-one"><dt>${e(t("field.amount"))}</dt><dd id="dlg-amount"></dd></div>
    <div><dt>${e(t("field.chain"))}</dt><dd id="dlg-chain"></dd></div>
    <div class="dlg-one"><dt>${e(t("detail.payoutId"))}</dt><dd id="dlg-payout-id"></dd></div>
    <div><dt>${e(t("approvals.signer"))}</dt><dd><code id="dlg-signer"></code></dd></div>
  </dl>
  <div class="table-wrap" id="dlg-batch" tabindex="0" role="region" aria-labelledby="dlg-batch-intro" hidden><table><caption class="visually-hidden">${e(t("approvals.batchCaption"))}</caption>
    <thead><tr><th scope="col">${e(t("field.kind"))}</th><th scope="col">${e(t("field.merchantRef"))}</th><th scope="col">${e(
      t("field.recipient"),
    )}</th><th scope="col" class="num">${e(t("field.amount"))}</th><th scope="col" class="num">${e(t("detail.payoutId"))}</th></tr></thead>
    <tbody id="dlg-items"></tbody></table></div>
  <p id="dlg-msg" role="status" aria-live="polite" class="hint"></p>
  <div class="actions"><button type="button" class="primary" id="dlg-sign">${e(
    t("approvals.sign"),
  )}</button> <button type="button" id="dlg-cancel">${e(t("approvals.cancel"))}</button></div>
</dialog>`;

  return page(v, {
    title: t("approvals.title"),
    nav: "approvals",
    wide: true,
    body: `<section class="card" aria-label="${e(t("approvals.who"))}" id="approve-box" data-approve-url="${e(
      ctx.base,
    )}/approvals/approve" data-batch-url="${e(ctx.base)}/approvals/batch" data-key-mode="${d.keyMode}" data-signer="${e(
      d.signer ? checksummed(d.signer) : "",
    )}">${who}${mismatch}${roleNote}
  <p class="hint">${e(t("approvals.explain"))}</p></section>
${table}
${dialog}`,
  });
}
