import { newId } from "../domain/ids.js";
import type { Db } from "./db.js";
import { IdempotencyConflictError } from "./errors.js";
import {
  getPayoutApplication,
  nextPayoutId,
  openPayoutOrder,
  toPayoutOrder,
  writePayoutEvent,
  type PayoutApplication,
} from "./payoutOrders.js";

/**
 * Records a settlement of the merchant's vault balance to an address of its own (vault PayoutKind 2), pending
 * approval, with the merchant's next vault payout id (the counter refunds and withdrawals use) and its outbox
 * event, in one transaction. Idempotent by (merchant, outTradeNo) when one is given. The vault checks the
 * balance on execution.
 */
export async function createSettlementOrder(
  db: Db,
  p: {
    merchantId: bigint;
    outTradeNo: string | null;
    requestHash: string;
    chainId: number;
    tokenAddress: string;
    amount: bigint;
    toAddress: string;
    notifyUrl: string | null;
    payoutDeadlineSeconds: number;
  },
): Promise<{ settlement: PayoutApplication; created: boolean }> {
  return db.transaction(async (tx) => {
    // the merchant row lock serialises the idempotency check, the insert and the payout numbering
    await tx.query("SELECT 1 FROM merchants WHERE id = $1 FOR UPDATE", [p.merchantId]);
    if (p.outTradeNo !== null) {
      const [existing] = await tx.query(
        "SELECT settlement_no, request_hash FROM settlement_orders WHERE merchant_id = $1 AND merchant_settlement_id = $2",
        [p.merchantId, p.outTradeNo],
      );
      if (existing) {
        if (existing.request_hash !== p.requestHash) throw new IdempotencyConflictError("outTradeNo", p.outTradeNo);
        return {
          settlement: await getPayoutApplication(tx, "settlement", p.merchantId, { no: BigInt(existing.settlement_no) }),
          created: false,
        };
      }
    }
    const opened = openPayoutOrder("settlement", p.amount);
    const payoutId = await nextPayoutId(tx, p.merchantId);
    const [row] = await tx.query(
      `INSERT INTO settlement_orders (id, merchant_id, merchant_settlement_id, request_hash, chain_id, token_address, amount,
         to_address, status, payout_id, notify_url, payout_deadline)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, date_trunc('second', now()) + make_interval(secs => $12))
       RETURNING *, settlement_no AS no, merchant_settlement_id AS merchant_ref`,
      [
        newId(),
        p.merchantId,
        p.outTradeNo,
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
    const settlement = toPayoutOrder("settlement", row!);
    await writePayoutEvent(tx, settlement, opened.outbox!);
    return { settlement: await getPayoutApplication(tx, "settlement", p.merchantId, { no: settlement.no }), created: true };
  });
}
