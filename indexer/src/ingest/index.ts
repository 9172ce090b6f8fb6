import { combineHooks } from "../chain/combineHooks.js";
import type { ChainFollowerHooks } from "../chain/follower.js";
import { createMonotonicIds } from "./eventIds.js";
import { createPaymentDepositHooks } from "./paymentDeposits.js";
import { createRechargeDepositHooks } from "./rechargeDeposits.js";

export type CreateOrderHooksParameters = {
  /** cool-down of a payment address after its order closes (the gateway's `poolCooldownSeconds`) */
  poolCooldownSeconds: number;
  /** outbox event ids, sorting in creation order (default: monotonic ULIDs) */
  nextId?: () => string;
};

/**
 * The follower hooks that turn raw deposits into order state changes: payment deposits, then recharge
 * deposits, in the follower's transaction. Add sweep or payout parts with `combineHooks(createOrderHooks(…), …)`.
 *
 * ```ts
 * const follower = createChainFollower({ db, chain, hooks: createOrderHooks({ poolCooldownSeconds: config.poolCooldownSeconds }) });
 * ```
 */
export function createOrderHooks({ poolCooldownSeconds, nextId = createMonotonicIds() }: CreateOrderHooksParameters): ChainFollowerHooks {
  return combineHooks(createPaymentDepositHooks({ poolCooldownSeconds, nextId }), createRechargeDepositHooks({ nextId }));
}

export { createPaymentDepositHooks, type PaymentDepositHooksParameters } from "./paymentDeposits.js";
export { createRechargeDepositHooks, type RechargeDepositHooksParameters } from "./rechargeDeposits.js";
export { createMonotonicIds } from "./eventIds.js";
