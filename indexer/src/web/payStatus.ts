import type { GatewayContext } from "../api/context.js";
import { formatAmount } from "../domain/money.js";
import { PaymentStatus } from "../domain/orderStateMachine.js";
import type { PaymentOrderRecord } from "../store/paymentOrders.js";
import { paymentTransfersOf, pendingDepositDepth } from "./readModel.js";

/** What the payment page polls: only what the payer needs to see, nothing of the merchant's side. */
export type PayStatus = {
  state: number;
  /** amounts in base units (decimal strings) */
  amount: string;
  seenAmount: string;
  paidAmount: string;
  /** still to send: amount - seen (0 once enough was seen) */
  dueAmount: string;
  /** the same, human (for the page's text) */
  display: { amount: string; seenAmount: string; paidAmount: string; dueAmount: string };
  /** depth of the newest unconfirmed transfer, and the depth the chain requires (null: finalized mode) */
  confirmations: number | null;
  requiredConfirmations: number | null;
  expireAt: number;
  serverTime: number;
  /** only once the order succeeded and the merchant named one: the page goes there after a moment */
  redirectUrl: string | null;
  /** on every closed state (success, failed, expired, cancelled) when the merchant named one: a link back */
  shopUrl: string | null;
  /** when the order closed (unix ms), null while open */
  closedAt: number | null;
  /** the transfers seen for the order (amounts human, in the order's token; another token's in base units) */
  transfers: {
    txHash: string;
    amount: string;
    kind: "payment" | "wrong_token";
    status: "seen" | "confirmed";
    late: boolean;
    at: number;
    /** the block explorer of the transfer's own chain (an earlier network's after a switch), null when none is configured */
    explorerUrl: string | null;
  }[];
};

export const payStatusSchema = {
  type: "object",
  required: ["state", "amount", "seenAmount", "paidAmount", "dueAmount", "expireAt", "serverTime"],
  properties: {
    state: { type: "integer" },
    amount: { type: "string" },
    seenAmount: { type: "string" },
    paidAmount: { type: "string" },
    dueAmount: { type: "string" },
    display: {
      type: "object",
      properties: {
        amount: { type: "string" },
        seenAmount: { type: "string" },
        paidAmount: { type: "string" },
        dueAmount: { type: "string" },
      },
    },
    confirmations: { type: ["integer", "null"] },
    requiredConfirmations: { type: ["integer", "null"] },
    expireAt: { type: "integer" },
    serverTime: { type: "integer" },
    redirectUrl: { type: ["string", "null"] },
    shopUrl: { type: ["string", "null"] },
    closedAt: { type: ["integer", "null"] },
    transfers: {
      type: "array",
      items: {
        type: "object",
        properties: {
          txHash: { type: "string" },
          amount: { type: "string" },
          kind: { type: "string" },
          status: { type: "string" },
          late: { type: "boolean" },
          at: { type: "integer" },
          explorerUrl: { type: ["string", "null"] },
        },
      },
    },
  },
};

export async function payStatusOf(ctx: GatewayContext, o: PaymentOrderRecord): Promise<PayStatus> {
  const chain = ctx.chain(o.chainId);
  const due = o.amount > o.seenAmount ? o.amount - o.seenAmount : 0n;
  const d = o.tokenDecimals;
  const open = o.status >= PaymentStatus.Unpaid && o.status <= PaymentStatus.Confirming;
  const [confirmations, transfers] = await Promise.all([
    open && o.seenAmount > 0n ? pendingDepositDepth(ctx.db, o) : null,
    paymentTransfersOf(ctx.db, o.id),
  ]);
  return {
    state: o.status,
    amount: o.amount.toString(),
    seenAmount: o.seenAmount.toString(),
    paidAmount: o.paidAmount.toString(),
    dueAmount: due.toString(),
    display: {
      amount: formatAmount(o.amount, d),
      seenAmount: formatAmount(o.seenAmount, d),
      paidAmount: formatAmount(o.paidAmount, d),
      dueAmount: formatAmount(due, d),
    },
    confirmations,
    requiredConfirmations: chain.finality === "finalized" ? null : chain.confirmations,
    expireAt: o.expiresAt.getTime(),
    serverTime: Date.now(),
    redirectUrl: o.status === PaymentStatus.Success ? redirectUrlOf(o) : null,
    shopUrl: open ? null : redirectUrlOf(o),
    closedAt: open ? null : o.updatedAt.getTime(),
    transfers: transfers.map((t) => ({
      txHash: t.txHash,
      amount: t.kind === "payment" ? formatAmount(t.amount, d) : t.amount.toString(),
      kind: t.kind,
      status: t.status,
      late: t.late,
      at: t.at.getTime(),
      explorerUrl: ctx.config.chains.find((c) => c.chainId === t.chainId)?.explorerUrl ?? null,
    })),
  };
}

/** seed 003's frontend callback: the merchant's redirectionUrl with the order's ids added (never the accessSign). */
export function redirectUrlOf(o: PaymentOrderRecord): string | null {
  if (!o.redirectionUrl) return null;
  let url: URL;
  try {
    url = new URL(o.redirectionUrl);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  url.searchParams.set("payOrderId", o.id);
  url.searchParams.set("merchantOrderId", o.merchantOrderId);
  url.searchParams.set("state", String(o.status));
  return url.toString();
}
