import type { Queryable } from "../store/db.js";
import { toPaymentOrder, type PaymentOrderRecord } from "../store/paymentOrders.js";
import { listPaymentTransfers } from "../store/paymentTransfers.js";

/**
 * Read-only queries of the public pages. The pages find an order by payOrderId alone (the accessSign,
 * checked before any query, stands in for the merchant's credentials), so they cannot use the
 * merchant-scoped getPaymentOrder.
 */
export async function findPaymentOrderById(
  db: Queryable,
  payOrderId: string,
): Promise<(PaymentOrderRecord & { merchantName: string }) | null> {
  const [row] = await db.query(
    "SELECT o.*, m.name AS merchant_name FROM payment_orders o JOIN merchants m ON m.id = o.merchant_id WHERE o.id = $1",
    [payOrderId],
  );
  return row ? { ...toPaymentOrder(row), merchantName: row.merchant_name } : null;
}

/** Whether the order was payable on `chainId` before the payer switched (payment_order_choices). */
export async function wasPayableOn(db: Queryable, payOrderId: string, chainId: number): Promise<boolean> {
  const rows = await db.query("SELECT 1 FROM payment_order_choices WHERE pay_order_id = $1 AND chain_id = $2 LIMIT 1", [
    payOrderId,
    chainId,
  ]);
  return rows.length > 0;
}

export async function merchantName(db: Queryable, merchantId: bigint): Promise<string> {
  const [row] = await db.query<{ name: string }>("SELECT name FROM merchants WHERE id = $1", [merchantId]);
  return row?.name ?? "";
}

/**
 * Depth of the newest transfer to the order's address that the follower has seen but not yet confirmed
 * (chain_deposits, written by src/chain/): `tip - block + 1`, or null when there is none.
 */
export async function pendingDepositDepth(db: Queryable, o: PaymentOrderRecord): Promise<number | null> {
  if (!o.receiptAddress) return null;
  const [row] = await db.query<{ depth: string | null }>(
    `SELECT (c.block_number - max(d.block_number) + 1)::text AS depth
     FROM chain_deposits d JOIN chain_cursors c ON c.chain_id = d.chain_id
     WHERE d.chain_id = $1 AND d.to_address = $2 AND d.token = $3 AND d.status = 'seen' AND d.created_at >= $4
     GROUP BY c.block_number`,
    [o.chainId, o.receiptAddress.toLowerCase(), o.tokenAddress.toLowerCase(), o.createdAt],
  );
  return row?.depth == null ? null : Math.max(0, Number(row.depth));
}

export type PageTransfer = {
  /** the chain it is on: after the payer switched networks, an earlier network's transfers are shown too */
  chainId: number;
  txHash: string;
  amount: bigint;
  /** the order's token (counted) or another token sent to the address (shown, not counted) */
  kind: "payment" | "wrong_token";
  status: "seen" | "confirmed";
  /** arrived after the order closed */
  late: boolean;
  at: Date;
};

/** The transfers recorded against an order (src/ingest/), oldest first, at most 20; those a reorg removed are left out. */
export async function paymentTransfersOf(db: Queryable, payOrderId: string): Promise<PageTransfer[]> {
  return (await listPaymentTransfers(db, payOrderId))
    .filter((t) => t.status !== "removed")
    .slice(0, 20)
    .map((t) => ({
      chainId: t.chainId,
      txHash: t.txHash,
      amount: t.amount,
      kind: t.counted ? "payment" : "wrong_token",
      status: t.status as PageTransfer["status"],
      late: t.late,
      at: t.createdAt,
    }));
}
