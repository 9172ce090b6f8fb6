import type { Logger } from "pino";
import type { ChainFollowerHooks } from "../chain/follower.js";
import { createFollowerLeadership, type LeadershipLease } from "../chain/leadership.js";
import type { GatewayConfig } from "../config.js";
import { createMoverHooks } from "../movers/hooks.js";
import { createOperatorWallet, type OperatorWallet } from "../movers/operatorWallet.js";
import { createPayoutExecutor, type PayoutExecutor, type PayoutOutcome } from "../movers/payoutExecutor.js";
import { createSweeper, releaseSweep, type Sweeper, type SweepOutcome } from "../movers/sweeper.js";
import type { Db } from "../store/db.js";
import { markPayoutWorkDropped } from "../store/payoutOrders.js";

/** "movr" as an int4: the advisory-lock namespace of the money movers (one signer per chain). */
const MOVERS_LOCK_NAMESPACE = 0x6d6f7672;

/** What one pass did on each chain (`error` when the pass threw). */
export type MoverOutcomes = { chainId: number; sweeps: SweepOutcome[]; payouts: PayoutOutcome[]; error?: unknown }[];

export type MoneyMovers = {
  /** follower hooks of a chain: payouts settle and sweeps close from confirmed vault events */
  hooksFor(chainId: number): ChainFollowerHooks;
  /** one pass on every chain: settle sent transactions, then sweep, then pay out */
  runOnce(): Promise<{ chainId: number; sweeps: SweepOutcome[]; payouts: PayoutOutcome[] }[]>;
  start(): void;
  stop(): Promise<void>;
  wallets: Map<number, OperatorWallet>;
};

/**
 * The sweeper and the payout executor of every configured chain that has an RPC, signing with the operator
 * key. Across processes, one holds each chain's movers lock and signs; the others wait.
 */
export function createMoneyMovers(args: {
  db: Db;
  config: GatewayConfig;
  logger: Logger;
  intervalMs?: number;
  /** after each timed pass (the metrics count sweeps and payouts from it) */
  onPass?: (outcomes: MoverOutcomes) => void;
}): MoneyMovers {
  const { db, config, logger, intervalMs = 5_000 } = args;
  const chains = config.chains.filter((c) => c.rpcUrl);
  const wallets = new Map<number, OperatorWallet>();
  const parts = new Map<number, { sweeper: Sweeper; executor: PayoutExecutor }>();
  for (const c of chains) {
    const wallet = createOperatorWallet({ db, chainId: c.chainId, rpcUrl: c.rpcUrl!, privateKey: config.operatorKey! });
    wallets.set(c.chainId, wallet);
    parts.set(c.chainId, {
      sweeper: createSweeper({
        db,
        chainId: c.chainId,
        vault: c.vault,
        wallet,
        tokens: c.tokens.map((t) => ({ address: t.address, priceWei: t.priceWei })),
        maxGasShareBps: config.sweepMaxGasShareBps,
        logger,
      }),
      executor: createPayoutExecutor({ db, chainId: c.chainId, vault: c.vault, wallet, logger }),
    });
  }

  async function settleSent(chainId: number) {
    for (const s of await wallets.get(chainId)!.checkPending()) {
      if (s.outcome === "mined") continue; // the follower decides success at depth
      logger.warn({
        msg: "operator transaction did not go through",
        chain_id: chainId,
        outcome: s.outcome,
        purpose: s.purpose,
        ref: s.refId,
        tx_hash: s.txHash,
      });
      if (s.purpose === "sweep") await releaseSweep(db, s.refId);
      // what it carried (a payout, a batch's lines, a relay's payouts and batches) goes back to approved together,
      // to be sent again (or failed at the deadline)
      else
        await markPayoutWorkDropped(db, s.refKind, s.refId).catch((err) =>
          logger.warn({ err, ref: s.refId, ref_kind: s.refKind }, "payout drop refused"),
        );
    }
  }

  async function runChain(chainId: number) {
    const p = parts.get(chainId)!;
    await settleSent(chainId);
    const sweeps = await p.sweeper.runOnce();
    const payouts = await p.executor.runOnce();
    return { chainId, sweeps, payouts };
  }

  let timer: NodeJS.Timeout | undefined;
  const abort = new AbortController();
  const leases = new Map<number, LeadershipLease | undefined>();
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    const outcomes: MoverOutcomes = [];
    try {
      for (const c of chains) {
        if (!leases.get(c.chainId)) continue;
        outcomes.push(
          await runChain(c.chainId).catch((error) => {
            logger.error({ err: error, chain_id: c.chainId }, "money movers pass failed");
            return { chainId: c.chainId, sweeps: [], payouts: [], error };
          }),
        );
      }
      args.onPass?.(outcomes);
    } finally {
      busy = false;
    }
  };

  return {
    wallets,
    hooksFor: () => createMoverHooks({ logger }),
    async runOnce() {
      const out = [];
      for (const c of chains) out.push(await runChain(c.chainId));
      return out;
    },
    start() {
      for (const c of chains) {
        const leadership = createFollowerLeadership({
          chainId: c.chainId,
          db,
          databaseUrl: config.databaseUrl,
          namespace: MOVERS_LOCK_NAMESPACE,
          logger,
        });
        void leadership.acquire(abort.signal).then((lease) => {
          leases.set(c.chainId, lease);
          lease?.lost.addEventListener("abort", () => leases.set(c.chainId, undefined));
        });
      }
      timer ??= setInterval(tick, intervalMs);
    },
    async stop() {
      abort.abort();
      clearInterval(timer);
      timer = undefined;
      while (busy) await new Promise((r) => setTimeout(r, 20));
      for (const l of leases.values()) await l?.release();
    },
  };
}
