import type { GatewayContext } from "../api/context.js";
import { formatAmount } from "../domain/money.js";
import { PaymentStatus } from "../domain/orderStateMachine.js";
import type { PaymentOrderRecord } from "../store/paymentOrders.js";
import { pendingDepositDepth } from "./readModel.js";

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
  /** only once the order succeeded and the merchant named one */
  redirectUrl: string | null;
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
  },
};

export async function payStatusOf(ctx: GatewayContext, o: PaymentOrderRecord): Promise<PayStatus> {
  const chain = ctx.chain(o.chainId);
  const due = o.amount > o.seenAmount ? o.amount - o.seenAmount : 0n;
  const d = o.tokenDecimals;
  const open = o.status >= PaymentStatus.Unpaid && o.status <= PaymentStatus.Confirming;
  const confirmations = open && o.seenAmount > 0n ? await pendingDepositDepth(ctx.db, o) : null;
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
