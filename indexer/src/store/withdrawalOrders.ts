import { newId } from "../domain/ids.js";
import type { Db } from "./db.js";
import { IdempotencyConflictError } from "./errors.js";
import { getPayoutOrder, nextPayoutId, openPayoutOrder, toPayoutOrder, writePayoutEvent, type PayoutOrderRecord } from "./payoutOrders.js";
import { getUser } from "./users.js";

/** Withdrawals are payout orders of kind "withdrawal" (see payoutOrders.ts); this module creates them. */
export type WithdrawalOrderRecord = PayoutOrderRecord & { kind: "withdrawal"; userId: bigint };

/**
 * Records a user's withdrawal, pending the merchant's approval, with the merchant's next vault payout id
 * and its outbox event, in one transaction. Idempotent by (merchant, merchantWithdrawId). The vault
 * checks the merchant's balance when the payout executes; user balances are the merchant's books.
 */
export async function createWithdrawalOrder(
  db: Db,
  p: {
    merchantId: bigint;
    user: { userId?: string; uuid?: string };
    merchantWithdrawId: string;
    requestHash: string;
    chainId: number;
    tokenAddress: string;
    amount: bigint;
    toAddress: string;
    notifyUrl: string | null;
    payoutDeadlineSeconds: number;
  },
): Promise<{ withdrawal: WithdrawalOrderRecord; created: boolean }> {
  return db.transaction(async (tx) => {
    // the merchant row lock serialises the idempotency check, the insert and the payout numbering
    await tx.query("SELECT 1 FROM merchants WHERE id = $1 FOR UPDATE", [p.merchantId]);
    const [existing] = await tx.query("SELECT id, request_hash FROM withdrawal_orders WHERE merchant_id = $1 AND merchant_withdraw_id = $2", [
      p.merchantId,
      p.merchantWithdrawId,
    ]);
    if (existing) {
      if (existing.request_hash !== p.requestHash) throw new IdempotencyConflictError("merchantWithdrawId", p.merchantWithdrawId);
      return { withdrawal: (await getPayoutOrder(tx, "withdrawal", p.merchantId, { id: existing.id })) as WithdrawalOrderRecord, created: false };
    }
    const user = await getUser(tx, p.merchantId, p.user);
    const opened = openPayoutOrder("withdrawal", p.amount);
    const payoutId = await nextPayoutId(tx, p.merchantId);
    const id = newId();
    const [row] = await tx.query(
      `INSERT INTO withdrawal_orders (id, merchant_id, user_id, merchant_withdraw_id, request_hash, chain_id, token_address,
         amount, to_address, status, payout_id, notify_url, payout_deadline)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, date_trunc('second', now()) + make_interval(secs => $13))
       RETURNING *`,
      [
        id,
        p.merchantId,
        user.userId,
        p.merchantWithdrawId,
        p.requestHash,
        p.chainId,
        p.tokenAddress.toLowerCase(),
        p.amount,
        p.toAddress.toLowerCase(),
        opened.next.status,
        payoutId,
        p.notifyUrl,
        p.payoutDeadlineSeconds,
      ],
    );
    const withdrawal = toPayoutOrder("withdrawal", row!) as WithdrawalOrderRecord;
    await writePayoutEvent(tx, withdrawal, opened.outbox!);
    return { withdrawal, created: true };
  });
}

/** The API's reference names to the payout store's. */
export const withdrawalRef = (ref: { withdrawOrderId?: string; merchantWithdrawId?: string }) =>
  ref.withdrawOrderId !== undefined ? { id: ref.withdrawOrderId } : { merchantRef: ref.merchantWithdrawId ?? "" };
