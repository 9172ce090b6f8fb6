import type { Queryable } from "../store/db.js";
import { toPaymentOrder, type PaymentOrderRecord } from "../store/paymentOrders.js";

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

/** The transfers recorded against an order (src/ingest/), oldest first; those a reorg removed are left out. */
export async function paymentTransfersOf(db: Queryable, payOrderId: string): Promise<PageTransfer[]> {
  const rows = await db.query(
    `SELECT chain_id, tx_hash, amount::text, kind, status, late, created_at FROM payment_transfers
     WHERE pay_order_id = $1 AND status <> 'removed' ORDER BY block_number, log_index LIMIT 20`,
    [payOrderId],
  );
  return rows.map((r) => ({
    chainId: Number(r.chain_id),
    txHash: r.tx_hash,
    amount: BigInt(r.amount),
    kind: r.kind,
    status: r.status,
    late: r.late,
    at: new Date(r.created_at),
  }));
}
