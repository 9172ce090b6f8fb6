import type { ChainFollowerHooks } from "../chain/follower.js";
import { failPayoutFromChain, settlePayoutFromChain, skipPayoutFromChain } from "../store/payoutOrders.js";
import { NEVER_PAYABLE_ERRORS, vaultErrorNameOf, vaultErrorText } from "./vaultCalls.js";

export type MoverHooksParameters = {
  logger?: { warn(o: object): void };
  /** after the vault skips an item of a batch, the batch is sent again no earlier than this (default 300 s) */
  retryAfterSeconds?: number;
};

/**
 * The follower's side of the money movers, in the block's transaction, for vault events at the required
 * depth: `PayoutExecuted` moves its refund, withdrawal or settlement to success (never earlier: a payout
 * seen but reorganised away was never reported), `PayoutCancelled` and a `PayoutSkipped` that can never pass
 * (NEVER_PAYABLE_ERRORS) fail theirs with the reason, any other `PayoutSkipped` keeps its payout open and
 * reserved until its deadline (skipPayoutFromChain), and `Swept` / `SweepSkipped` close the sweep that sent
 * them with what the vault credited (what arrived less the fee, and the fee).
 */
export function createMoverHooks({ logger, retryAfterSeconds = 300 }: MoverHooksParameters = {}): ChainFollowerHooks {
  return {
    async onConfirmed(tx, { chainId, vaultEvents }) {
      for (const ev of vaultEvents) {
        if (ev.name === "PayoutExecuted") {
          const r = await settlePayoutFromChain(tx, {
            merchantId: BigInt(ev.args.merchantId as string),
            payoutId: BigInt(ev.args.payoutId as string),
            txHash: ev.txHash,
          });
          if (r.outcome === "unexpected" || r.outcome === "unknown") {
            logger?.warn({
              msg: "vault paid a payout the gateway did not expect",
              chain_id: chainId,
              outcome: r.outcome,
              merchant_id: ev.args.merchantId,
              payout_id: ev.args.payoutId,
              tx_hash: ev.txHash,
            });
          }
        } else if (ev.name === "PayoutSkipped" || ev.name === "PayoutCancelled") {
          const merchantId = BigInt(ev.args.merchantId as string);
          const payoutId = BigInt(ev.args.payoutId as string);
          const name = ev.name === "PayoutSkipped" ? vaultErrorNameOf(String(ev.args.reason)) : undefined;
          // A skip for a used id is not a failure: the id was paid (PayoutExecuted settles it) or cancelled.
          if (name === "VaultPayoutIdUsed") continue;
          const reason =
            ev.name === "PayoutCancelled"
              ? "the merchant's signer cancelled this payout id in the vault"
              : `the vault skipped this payout: ${vaultErrorText(String(ev.args.reason))}`;
          if (ev.name === "PayoutSkipped" && !NEVER_PAYABLE_ERRORS.has(name ?? "")) {
            // The id stays unused and the signature still authorises it until the deadline: anyone may relay
            // it again and pay it, so failing it now (and releasing its amount) could pay it twice. It waits.
            const kept = await skipPayoutFromChain(tx, { merchantId, payoutId, reason, retryAfterSeconds, txHash: ev.txHash });
            logger?.warn({
              msg: kept
                ? "vault skipped a payout: kept open until its deadline"
                : "vault skipped a payout in a transaction that is not the gateway's, or of no open order: nothing changes",
              chain_id: chainId,
              merchant_id: ev.args.merchantId,
              payout_id: ev.args.payoutId,
              reason,
              tx_hash: ev.txHash,
            });
            continue;
          }
          // an id cancelled by the merchant's signer, or an item that can never be paid as signed: fail it now
          const failed = await failPayoutFromChain(tx, { merchantId, payoutId, reason });
          logger?.warn({
            msg: failed ? "payout failed on chain" : "vault skipped a payout the gateway has no open order for",
            chain_id: chainId,
            event: ev.name,
            merchant_id: ev.args.merchantId,
            payout_id: ev.args.payoutId,
            reason,
            tx_hash: ev.txHash,
          });
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
