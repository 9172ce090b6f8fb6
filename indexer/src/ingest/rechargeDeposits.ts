import type { ChainFollowerHooks } from "../chain/follower.js";
import { newId } from "../domain/ids.js";
import {
  RechargeStatus,
  openRecharge,
  transitionRecharge,
  type RechargeEvent,
  type Transition,
  type RechargeOrderState,
} from "../domain/orderStateMachine.js";
import type { Queryable } from "../store/db.js";
import {
  insertOutboxEvents,
  insertRechargeOrders,
  lockConfirmingRecharges,
  lockRechargesByKeys,
  matchRechargeDeposits,
  writeRecharges,
} from "../store/ingest.js";
import type { NewOutboxEvent } from "../store/outbox.js";
import { rechargeWebhookPayload, type RechargeOrderRecord } from "../store/rechargeOrders.js";

export type RechargeDepositHooksParameters = {
  /** outbox event ids; must sort in creation order */
  nextId: () => string;
};

/**
 * Deposits to users' recharge addresses -> recharge orders (one per transfer, keyed by chain, tx hash and
 * log index): opened at 2 when seen, 3 once a block is on top, 4 at the required depth, -1 if a reorg
 * drops the transfer (and 2 again if the same transfer is mined on the new branch). Webhooks go to the
 * outbox as aggregate 'recharge'; the notifier sends them to the merchant's recharge URL.
 */
export function createRechargeDepositHooks({ nextId }: RechargeDepositHooksParameters): ChainFollowerHooks {
  const event = (r: RechargeOrderRecord, t: Transition<RechargeOrderState>, extra: Record<string, unknown> = {}): NewOutboxEvent[] =>
    t.outbox
      ? [
          {
            id: nextId(),
            merchantId: r.merchantId,
            aggregateKind: "recharge",
            aggregateId: r.id,
            type: t.outbox.type,
            payload: {
              ...rechargeWebhookPayload({ ...r, ...t.next }),
              ...t.outbox.payload,
              blockNumber: r.blockNumber.toString(),
              ...extra,
            },
          },
        ]
      : [];

  async function move(
    tx: Queryable,
    orders: RechargeOrderRecord[],
    e: RechargeEvent,
    extra?: (r: RechargeOrderRecord) => Record<string, unknown>,
  ) {
    const events: NewOutboxEvent[] = [];
    const next = orders.map((r) => {
      const t = transitionRecharge(r, e);
      events.push(...event(r, t, extra?.(r)));
      return { ...r, ...t.next };
    });
    await writeRecharges(tx, next);
    await insertOutboxEvents(tx, events);
  }

  // deposits onSeen found to be no recharge, by transaction (a backfill chunk confirms them in the same one)
  const notMine = new WeakMap<Queryable, Set<bigint>>();

  return {
    async onSeen(tx, { chainId, deposits }) {
      if (deposits.length === 0) return;
      const matches = await matchRechargeDeposits(tx, chainId, deposits);
      const others = new Set(deposits.map((d) => d.id));
      for (const m of matches) others.delete(deposits[m.index]!.id);
      notMine.set(tx, others);
      if (matches.length === 0) return;
      const opened = matches.map(({ index, userId, merchantId, uuid }) => {
        const d = deposits[index]!;
        const t = openRecharge(d.amount);
        const order: RechargeOrderRecord = {
          id: newId(),
          merchantId,
          userId,
          uuid,
          chainId,
          tokenAddress: d.token,
          amount: t.next.amount,
          status: t.next.status,
          fromAddress: d.from,
          toAddress: d.to,
          txHash: d.txHash,
          logIndex: d.logIndex,
          blockNumber: d.blockNumber,
          createdAt: new Date(),
        };
        return { order, t, blockHash: d.blockHash };
      });
      const written = await insertRechargeOrders(
        tx,
        opened.map((o) => o.order),
        opened.map((o) => o.blockHash),
      );
      const events = opened.filter((o) => written.has(o.order.id)).flatMap((o) => event(o.order, o.t));
      await insertOutboxEvents(tx, events);

      // a key already present: mined again after a reorg dropped it (anything else was reported already)
      const again = opened.filter((o) => !written.has(o.order.id));
      if (again.length === 0) return;
      const dropped = await lockRechargesByKeys(
        tx,
        chainId,
        again.map((o) => o.order),
        [RechargeStatus.Dropped],
      );
      const byKey = new Map(again.map((o) => [`${o.order.txHash}:${o.order.logIndex}`, o]));
      const moved = dropped.map((r) => {
        const o = byKey.get(`${r.txHash}:${r.logIndex}`)!;
        return { ...r, blockNumber: o.order.blockNumber, blockHash: o.blockHash };
      });
      await move(tx, moved, { type: "reincluded" });
    },

    async onBlock(tx, { chainId, tip, confirmed }) {
      const due = await lockConfirmingRecharges(tx, chainId, tip, confirmed);
      if (due.length) await move(tx, due, { type: "confirming" }, (r) => ({ confirmations: Number(tip - r.blockNumber + 1n) }));
    },

    async onConfirmed(tx, e) {
      const skip = notMine.get(tx);
      const deposits = skip ? e.deposits.filter((d) => !skip.has(d.id)) : e.deposits;
      if (deposits.length === 0) return;
      const due = await lockRechargesByKeys(tx, e.chainId, deposits, [RechargeStatus.AwaitingConfirmation, RechargeStatus.Confirming]);
      if (due.length) await move(tx, due, { type: "confirm" });
    },

    async onReorg(tx, { chainId, deposits }) {
      if (deposits.length === 0) return;
      const gone = await lockRechargesByKeys(tx, chainId, deposits, [RechargeStatus.AwaitingConfirmation, RechargeStatus.Confirming]);
      if (gone.length) await move(tx, gone, { type: "drop" }, () => ({ reason: "reorg" }));
    },
  };
}
