import type { ChainFollowerHooks } from "../chain/follower.js";
import { PAYMENT_TERMINAL, transitionPayment, type PaymentEvent } from "../domain/orderStateMachine.js";
import type { StoredDeposit } from "../store/chain.js";
import type { Queryable } from "../store/db.js";
import {
  attributeDeposits,
  insertOutboxEvents,
  insertPaymentTransfers,
  lockConfirmingPaymentOrders,
  lockPaymentOrders,
  markTransfers,
  refreshPayers,
  releaseAddresses,
  writePaymentOrders,
  type PaymentTransfer,
} from "../store/ingest.js";
import type { NewOutboxEvent } from "../store/outbox.js";
import { paymentWebhookPayload, type PaymentOrderRecord } from "../store/paymentOrders.js";

export type PaymentDepositHooksParameters = {
  /** how long a closed order's address rests before it is leased again (as the API's cancel and expiry) */
  poolCooldownSeconds: number;
  /** outbox event ids; must sort in creation order (default: monotonic ULIDs) */
  nextId: () => string;
};

/** One state-machine event for one order, with what the webhook should say about the transfer. */
type Step = {
  orderId: string;
  event: PaymentEvent;
  transfer?: { txHash: string; logIndex: number; amount: bigint };
  extra?: Record<string, unknown>;
};

/**
 * Deposits to payment addresses -> payment orders. Every move goes through `transitionPayment`; the
 * orders of a batch are locked once, folded in chain order in memory, and written back with one UPDATE,
 * their webhooks with one INSERT.
 *
 * - seen: recorded in payment_transfers against the leased order (0 -> 1 or 2), or, when the address is
 *   back in the pool, as late on the order that last leased it; another token is recorded, not counted.
 * - block: an order at 2 whose payment has a block on top but is not at depth -> 3 (with confirmations).
 * - confirmed: the transfer counts as paid; paid >= due -> 4, the address goes to its cool-down.
 * - reorg: the transfer is marked removed and the order moves back (the merchant gets an event).
 */
export function createPaymentDepositHooks({ poolCooldownSeconds, nextId }: PaymentDepositHooksParameters): ChainFollowerHooks {
  async function apply(tx: Queryable, orders: Map<string, PaymentOrderRecord>, steps: Step[], payers = new Map<string, string>()) {
    const changed = new Set<string>();
    const events: NewOutboxEvent[] = [];
    const closed: string[] = [];
    for (const s of steps) {
      const order = orders.get(s.orderId)!;
      const { next, outbox } = transitionPayment(order, s.event);
      const updated: PaymentOrderRecord = { ...order, ...next, payerAddress: order.payerAddress ?? payers.get(order.id) ?? null };
      orders.set(order.id, updated);
      changed.add(order.id);
      if (!PAYMENT_TERMINAL.includes(order.status) && PAYMENT_TERMINAL.includes(next.status)) closed.push(order.id);
      if (outbox) {
        const t = s.transfer;
        events.push({
          id: nextId(),
          merchantId: order.merchantId,
          aggregateKind: "payment",
          aggregateId: order.id,
          type: outbox.type,
          payload: {
            ...paymentWebhookPayload(updated),
            ...outbox.payload,
            ...(t ? { txHash: t.txHash, logIndex: t.logIndex, transferAmount: t.amount.toString() } : {}),
            ...s.extra,
          },
        });
      }
    }
    await writePaymentOrders(
      tx,
      [...changed].map((id) => orders.get(id)!),
    );
    await insertOutboxEvents(tx, events);
    await releaseAddresses(tx, closed, poolCooldownSeconds);
  }

  const transferOf = (t: { txHash: string; logIndex: number; amount: bigint }) => ({
    txHash: t.txHash,
    logIndex: t.logIndex,
    amount: t.amount,
  });
  // Deposits that onSeen found to be no payment (unattributed, or a recharge address), by transaction: a
  // backfill chunk reports its rows seen and confirmed in one transaction, and those need no second lookup.
  const notMine = new WeakMap<Queryable, Set<bigint>>();

  return {
    async onSeen(tx, { chainId, deposits }) {
      if (deposits.length === 0) return;
      const attributed = await attributeDeposits(tx, chainId, deposits);
      const others = new Set(deposits.map((d) => d.id));
      for (const a of attributed) others.delete(deposits[a.index]!.id);
      notMine.set(tx, others);
      if (attributed.length === 0) return;
      const orders = await lockPaymentOrders(
        tx,
        attributed.map((a) => a.orderId),
      );
      const transfers: (PaymentTransfer & { deposit: StoredDeposit })[] = attributed.map(({ index, orderId }) => {
        const d = deposits[index]!;
        const o = orders.get(orderId)!;
        return {
          chainId,
          txHash: d.txHash,
          logIndex: d.logIndex,
          payOrderId: orderId,
          token: d.token,
          from: d.from,
          to: d.to,
          amount: d.amount,
          blockNumber: d.blockNumber,
          // the order's token on the order's chain (after a switch, the earlier network's coin is another token)
          kind: d.token === o.tokenAddress && chainId === o.chainId ? "payment" : "wrong_token",
          // no block time on a row: an order closed when the block is ingested counts as closed for it
          late: PAYMENT_TERMINAL.includes(o.status),
          deposit: d,
        };
      });
      const written = await insertPaymentTransfers(tx, transfers);
      const fresh = transfers.filter((t) => written.has(`${t.txHash}:${t.logIndex}`));
      fresh.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
      const payers = new Map<string, string>();
      // a deposit found by balance has no sender (from ''): it never names the payer
      for (const t of fresh) if (t.kind === "payment" && t.from && !payers.has(t.payOrderId)) payers.set(t.payOrderId, t.from);
      await apply(
        tx,
        orders,
        fresh.map((t) => ({
          orderId: t.payOrderId,
          event:
            t.kind === "payment"
              ? { type: "transferSeen", amount: t.amount }
              : { type: "unmatchedTransfer", change: "seen", token: t.token, amount: t.amount },
          transfer: transferOf(t),
          extra: { from: t.from, late: t.late, transferToken: t.token },
        })),
        payers,
      );
    },

    async onBlock(tx, { chainId, tip, confirmed }) {
      const due = await lockConfirmingPaymentOrders(tx, chainId, tip, confirmed);
      if (due.length === 0) return;
      const orders = new Map(due.map((d) => [d.order.id, d.order]));
      await apply(
        tx,
        orders,
        due.map((d) => ({ orderId: d.order.id, event: { type: "confirming" }, extra: { confirmations: d.confirmations } })),
      );
    },

    async onConfirmed(tx, e) {
      const skip = notMine.get(tx);
      const deposits = skip ? e.deposits.filter((d) => !skip.has(d.id)) : e.deposits;
      if (deposits.length === 0) return;
      const moved = (await markTransfers(tx, e.chainId, deposits, "confirmed")).filter((t) => t.kind === "payment");
      if (moved.length === 0) return;
      const orders = await lockPaymentOrders(
        tx,
        moved.map((t) => t.payOrderId),
      );
      await apply(
        tx,
        orders,
        moved.map((t) => ({ orderId: t.payOrderId, event: { type: "transferConfirmed", amount: t.amount }, transfer: transferOf(t) })),
      );
    },

    async onReorg(tx, { chainId, deposits }) {
      if (deposits.length === 0) return;
      const removed = await markTransfers(tx, chainId, deposits, "removed");
      if (removed.length === 0) return;
      const orders = await lockPaymentOrders(
        tx,
        removed.map((t) => t.payOrderId),
      );
      await apply(
        tx,
        orders,
        removed.map((t) => ({
          orderId: t.payOrderId,
          event:
            t.kind === "payment"
              ? { type: "transferRemoved", amount: t.amount }
              : { type: "unmatchedTransfer", change: "removed", token: t.token, amount: t.amount },
          transfer: transferOf(t),
        })),
      );
      await refreshPayers(tx, [...orders.keys()]);
    },
  };
}
