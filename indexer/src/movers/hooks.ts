import type { ChainFollowerHooks } from "../chain/follower.js";
import { settlePayoutFromChain } from "../store/payoutOrders.js";

export type MoverHooksParameters = {
  logger?: { warn(o: object): void };
};

/**
 * The follower's side of the money movers, in the block's transaction, for vault events at the required
 * depth: `PayoutExecuted` moves its refund, withdrawal or settlement to success (never earlier: a payout
 * seen but reorganised away was never reported), and `Swept` / `SweepSkipped` close the sweep that sent
 * them with what the vault credited (what arrived less the fee, and the fee).
 */
export function createMoverHooks({ logger }: MoverHooksParameters = {}): ChainFollowerHooks {
  return {
    async onConfirmed(tx, { chainId, vaultEvents }) {
      for (const ev of vaultEvents) {
        if (ev.name === "PayoutExecuted") {
          const r = await settlePayoutFromChain(tx, { merchantId: BigInt(ev.args.merchantId as string), payoutId: BigInt(ev.args.payoutId as string), txHash: ev.txHash });
          if (r.outcome === "unexpected" || r.outcome === "unknown") {
            logger?.warn({ msg: "vault paid a payout the gateway did not expect", chain_id: chainId, outcome: r.outcome, merchant_id: ev.args.merchantId, payout_id: ev.args.payoutId, tx_hash: ev.txHash });
          }
        } else if (ev.name === "Swept" || ev.name === "SweepSkipped") {
          // Swept.amount is what arrived; the merchant is credited that less the fee
          const credited = ev.name === "Swept" ? (BigInt(ev.args.amount as string) - BigInt(ev.args.fee as string)).toString() : "0";
          const fee = ev.name === "Swept" ? String(ev.args.fee) : "0";
          await tx.query(
            `UPDATE sweeps s SET status = 'confirmed', tx_hash = $2, confirmed_at = coalesce(s.confirmed_at, now()),
               credited = coalesce(s.credited, 0) + $3, fee = coalesce(s.fee, 0) + $4,
               skipped = coalesce(s.skipped, 0) + $5
             FROM operator_txs o
             WHERE o.tx_hash = $2 AND o.purpose = 'sweep' AND s.id = o.ref_id AND s.chain_id = $1`,
            [chainId, ev.txHash, credited, fee, ev.name === "SweepSkipped" ? 1 : 0],
          );
        }
      }
    },
  };
}
