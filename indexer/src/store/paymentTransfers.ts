import type { Queryable } from "./db.js";

/**
 * The transfers recorded against a payment order (payment_transfers, written by src/ingest/), read in one
 * place for every reader: the merchant API's payment/detail and callbacks (store/paymentOrders.ts, inside
 * its one-statement view), the console's order page (store/ingest.ts) and the payment page
 * (web/readModel.ts). Each maps this domain shape to its own output.
 */
export type PaymentTransferRecord = {
  chainId: number;
  txHash: string;
  logIndex: number;
  blockNumber: bigint;
  from: string;
  token: string;
  amount: bigint;
  status: "seen" | "confirmed" | "removed";
  late: boolean;
  /** false: another token than the order's at the time (kind `wrong_token`: shown, not counted) */
  counted: boolean;
  /** the follower's last ingested block on that chain (null before it ran) */
  tip: bigint | null;
  /**
   * How the follower found it: "log" (token Transfer or the deposit address's receipt log), "transaction"
   * (a top-level transfer), "trace" (an internal transfer by a contract), or "balance" (the safety net: the
   * address held more than its recorded deposits; no transaction known, `txHash` is `balance:<block>:…`).
   */
  foundBy: TransferFoundBy;
  /** for a deposit found by balance: the transactions recorded later that it turned out to be (absorbed into it) */
  matchedTxHashes: string[];
  /** when the gateway recorded it */
  createdAt: Date;
};

export type TransferFoundBy = "log" | "transaction" | "trace" | "balance";

const FOUND_BY: Record<string, TransferFoundBy> = {
  erc20: "log",
  native_log: "log",
  native_tx: "transaction",
  native_trace: "trace",
  balance: "balance",
};

/**
 * How a transfer was found, from its chain_deposits row's source; a removed transfer's row is gone, so its key
 * still tells (a `balance:` hash, -1 a transaction, below -1 a trace).
 */
export function transferFoundBy(source: string | null | undefined, txHash: string, logIndex: number): TransferFoundBy {
  return (
    FOUND_BY[source ?? ""] ??
    (txHash.startsWith("balance:") ? "balance" : logIndex === -1 ? "transaction" : logIndex < -1 ? "trace" : "log")
  );
}

/**
 * SQL: a scalar subquery giving the transfers of the order whose id is `orderId` (a column such as `o.id`, or a
 * parameter such as `$1`) as one JSON array, oldest first (block, log index); read it with {toPaymentTransfers}.
 * An index probe per order, so the API's view keeps its order, transfers and choices in one statement.
 */
export const transfersJsonOf = (orderId: string) =>
  `(SELECT jsonb_agg(jsonb_build_object('chainId', t.chain_id, 'txHash', t.tx_hash, 'logIndex', t.log_index, 'blockNumber', t.block_number::text,
       'from', t.from_address, 'token', t.token, 'amount', t.amount::text, 'status', t.status, 'late', t.late, 'kind', t.kind,
       'tip', (SELECT c.block_number::text FROM chain_cursors c WHERE c.chain_id = t.chain_id), 'source', d.source,
       'matched', (SELECT jsonb_agg(a.tx_hash ORDER BY a.block_number, a.log_index) FROM chain_deposits a WHERE a.absorbed_by = d.id),
       'createdAt', t.created_at)
       ORDER BY t.block_number, t.log_index)
   FROM payment_transfers t
   LEFT JOIN chain_deposits d ON d.chain_id = t.chain_id AND d.tx_hash = t.tx_hash AND d.log_index = t.log_index
   WHERE t.pay_order_id = ${orderId})`;

/** The JSON of {transfersJsonOf} (jsonb, or its text) as records. */
export function toPaymentTransfers(json: unknown): PaymentTransferRecord[] {
  const list: any[] = json == null ? [] : typeof json === "string" ? JSON.parse(json) : (json as any[]);
  return list.map((t) => ({
    chainId: Number(t.chainId),
    txHash: t.txHash,
    logIndex: Number(t.logIndex),
    blockNumber: BigInt(t.blockNumber),
    from: t.from,
    token: t.token,
    amount: BigInt(t.amount),
    status: t.status,
    late: t.late === true,
    counted: t.kind === "payment",
    tip: t.tip == null ? null : BigInt(t.tip),
    // a removed row's chain_deposits row is gone: a synthetic key still says it was found by balance
    foundBy: transferFoundBy(t.source, t.txHash, Number(t.logIndex)),
    matchedTxHashes: t.matched ?? [],
    createdAt: new Date(t.createdAt),
  }));
}

/** Every transfer recorded against the order, removed ones too, oldest first. */
export async function listPaymentTransfers(db: Queryable, payOrderId: string): Promise<PaymentTransferRecord[]> {
  const [row] = await db.query(`SELECT ${transfersJsonOf("$1")} AS transfers`, [payOrderId]);
  return toPaymentTransfers(row?.transfers);
}

/** Blocks on top of and including the transfer's on the follower's tip; 0 once removed or before the follower saw its block. */
export function confirmationsOf(t: Pick<PaymentTransferRecord, "status" | "tip" | "blockNumber">): number {
  return t.status === "removed" || t.tip === null || t.tip < t.blockNumber ? 0 : Number(t.tip - t.blockNumber + 1n);
}
