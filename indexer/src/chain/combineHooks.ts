import type { ChainFollowerHooks } from "./follower.js";

/**
 * One set of follower hooks made of several: each part (payment and recharge deposits, sweeps, payouts)
 * owns its own handlers, and they run in the order given, inside the follower's one transaction, so a
 * throw in any part rolls the whole block back.
 */
export function combineHooks(...parts: ChainFollowerHooks[]): ChainFollowerHooks {
  return {
    async onSeen(tx, e) {
      for (const p of parts) await p.onSeen?.(tx, e);
    },
    async onConfirmed(tx, e) {
      for (const p of parts) await p.onConfirmed?.(tx, e);
    },
    async onReorg(tx, e) {
      for (const p of parts) await p.onReorg?.(tx, e);
    },
    async onBlock(tx, e) {
      for (const p of parts) await p.onBlock?.(tx, e);
    },
    afterCommit(e) {
      for (const p of parts) p.afterCommit?.(e);
    },
  };
}
