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

/** One recipient of a withdrawal: base units to a lowercase or checksummed address. */
export type WithdrawalLine = { toAddress: string; amount: bigint };

/**
 * Records a withdrawal application (withdraw/apply), pending the merchant's approval, in one transaction:
 * the application (table `withdrawals`, its id is the withdrawId) and one line per recipient, each a payout
 * with the merchant's next vault payout id (the vault pays one recipient per payout), and the application's
 * outbox event. Idempotent by (merchant, outTradeNo) when one is given. The vault checks the merchant's
 * balance when each payout executes; user balances are the merchant's books.
 */
export async function createWithdrawal(
  db: Db,
  p: {
    merchantId: bigint;
    outTradeNo: string | null;
    requestHash: string;
    chainId: number;
    tokenAddress: string;
    lines: readonly WithdrawalLine[];
    notifyUrl: string | null;
    payoutDeadlineSeconds: number;
  },
): Promise<{ withdrawal: PayoutApplication; created: boolean }> {
  return db.transaction(async (tx) => {
    // the merchant row lock serialises the idempotency check, the insert and the payout numbering
    await tx.query("SELECT 1 FROM merchants WHERE id = $1 FOR UPDATE", [p.merchantId]);
    if (p.outTradeNo !== null) {
      const [existing] = await tx.query("SELECT id, request_hash FROM withdrawals WHERE merchant_id = $1 AND out_trade_no = $2", [
        p.merchantId,
        p.outTradeNo,
      ]);
      if (existing) {
        if (existing.request_hash !== p.requestHash) throw new IdempotencyConflictError("outTradeNo", p.outTradeNo);
        return { withdrawal: await getPayoutApplication(tx, "withdrawal", p.merchantId, { no: BigInt(existing.id) }), created: false };
      }
    }
    const [app] = await tx.query<{ id: string }>(
      `INSERT INTO withdrawals (merchant_id, out_trade_no, request_hash, chain_id, token_address, notify_url)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [p.merchantId, p.outTradeNo, p.requestHash, p.chainId, p.tokenAddress.toLowerCase(), p.notifyUrl],
    );
    let first: ReturnType<typeof toPayoutOrder> | undefined;
    let opened: ReturnType<typeof openPayoutOrder> | undefined;
    for (const [i, line] of p.lines.entries()) {
      opened = openPayoutOrder("withdrawal", line.amount);
      const payoutId = await nextPayoutId(tx, p.merchantId);
      const [row] = await tx.query(
        `INSERT INTO withdrawal_orders (id, merchant_id, withdraw_id, line_no, request_hash, chain_id, token_address, amount, to_address, status,
           payout_id, notify_url, payout_deadline)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, date_trunc('second', now()) + make_interval(secs => $13))
         RETURNING *, withdraw_id AS no, line_no AS line`,
        [
          newId(),
          p.merchantId,
          app!.id,
          i + 1,
          p.requestHash,
          p.chainId,
          p.tokenAddress.toLowerCase(),
          line.amount,
          line.toAddress.toLowerCase(),
          opened.next.status,
          payoutId,
          p.notifyUrl,
          p.payoutDeadlineSeconds,
        ],
      );
      first ??= toPayoutOrder("withdrawal", { ...row!, merchant_ref: p.outTradeNo, app_notify_url: p.notifyUrl });
    }
    // one event for the application, whatever its number of lines
    await writePayoutEvent(tx, first!, opened!.outbox!);
    return { withdrawal: await getPayoutApplication(tx, "withdrawal", p.merchantId, { no: BigInt(app!.id) }), created: true };
  });
}
