import { newId } from "../domain/ids.js";
import type { Db } from "./db.js";
import { IdempotencyConflictError } from "./errors.js";
import { getPayoutOrder, nextPayoutId, openPayoutOrder, toPayoutOrder, writePayoutEvent, type PayoutOrderRecord } from "./payoutOrders.js";

/** Settlements are payout orders of kind "settlement" (vault PayoutKind 2): the merchant withdraws its own balance. */
export type SettlementOrderRecord = PayoutOrderRecord & { kind: "settlement" };

/**
 * Records a settlement of the merchant's vault balance to an address of its own, pending approval, with the
 * merchant's next vault payout id (the counter refunds and withdrawals use) and its outbox event, in one
 * transaction. Idempotent by (merchant, merchantSettlementId). The vault checks the balance on execution.
 */
export async function createSettlementOrder(
  db: Db,
  p: {
    merchantId: bigint;
    merchantSettlementId: string;
    requestHash: string;
    chainId: number;
    tokenAddress: string;
    amount: bigint;
    toAddress: string;
    notifyUrl: string | null;
    payoutDeadlineSeconds: number;
  },
): Promise<{ settlement: SettlementOrderRecord; created: boolean }> {
  return db.transaction(async (tx) => {
    // the merchant row lock serialises the idempotency check, the insert and the payout numbering
    await tx.query("SELECT 1 FROM merchants WHERE id = $1 FOR UPDATE", [p.merchantId]);
    const [existing] = await tx.query(
      "SELECT id, request_hash FROM settlement_orders WHERE merchant_id = $1 AND merchant_settlement_id = $2",
      [p.merchantId, p.merchantSettlementId],
    );
    if (existing) {
      if (existing.request_hash !== p.requestHash) throw new IdempotencyConflictError("merchantSettlementId", p.merchantSettlementId);
      return { settlement: (await getPayoutOrder(tx, "settlement", p.merchantId, { id: existing.id })) as SettlementOrderRecord, created: false };
    }
    const opened = openPayoutOrder("settlement", p.amount);
    const payoutId = await nextPayoutId(tx, p.merchantId);
    const [row] = await tx.query(
      `INSERT INTO settlement_orders (id, merchant_id, merchant_settlement_id, request_hash, chain_id, token_address, amount,
         to_address, status, payout_id, notify_url, payout_deadline)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, date_trunc('second', now()) + make_interval(secs => $12))
       RETURNING *`,
      [
        newId(),
        p.merchantId,
        p.merchantSettlementId,
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
    const settlement = toPayoutOrder("settlement", row!) as SettlementOrderRecord;
    await writePayoutEvent(tx, settlement, opened.outbox!);
    return { settlement, created: true };
  });
}

/** The API's reference names to the payout store's. */
export const settlementRef = (ref: { settlementOrderId?: string; merchantSettlementId?: string }) =>
  ref.settlementOrderId !== undefined ? { id: ref.settlementOrderId } : { merchantRef: ref.merchantSettlementId ?? "" };
