import { newId } from "../domain/ids.js";
import type { RechargeStatus } from "../domain/orderStateMachine.js";
import type { Db, Queryable } from "./db.js";
import { NotFoundError } from "./errors.js";
import { insertOutboxEvent, requeueLatestEvent } from "./outbox.js";
import type { Page } from "./paymentOrders.js";

/** Recharge orders are written by the chain follower; this module reads them for the merchant API and the callbacks. */
export type RechargeOrderRecord = {
  id: string;
  /** the public integer id (rechargeId); absent on a record the follower builds before inserting it */
  no?: bigint;
  merchantId: bigint;
  userId: bigint;
  uuid: string;
  chainId: number;
  tokenAddress: string;
  amount: bigint;
  status: RechargeStatus;
  fromAddress: string;
  toAddress: string;
  txHash: string;
  logIndex: number;
  blockNumber: bigint;
  createdAt: Date;
  /** the user's wallet (user_wallets.id) the deposit went to */
  walletId?: bigint | null;
  /** when the deposit reached its confirmations (chain_deposits.confirmed_at) */
  confirmedAt?: Date | null;
};

const SELECT = `SELECT r.*, u.uuid, w.id AS wallet_id, d.confirmed_at
  FROM recharge_orders r JOIN users u ON u.id = r.user_id
  LEFT JOIN user_wallets w ON w.user_id = r.user_id AND w.chain_id = r.chain_id
  LEFT JOIN chain_deposits d ON d.chain_id = r.chain_id AND d.tx_hash = r.tx_hash AND d.log_index = r.log_index`;

export const toRecharge = (r: Record<string, any>): RechargeOrderRecord => ({
  id: r.id,
  no: r.recharge_no == null ? undefined : BigInt(r.recharge_no),
  merchantId: BigInt(r.merchant_id),
  userId: BigInt(r.user_id),
  uuid: r.uuid,
  chainId: Number(r.chain_id),
  tokenAddress: r.token_address,
  amount: BigInt(r.amount),
  status: Number(r.status) as RechargeStatus,
  fromAddress: r.from_address,
  toAddress: r.to_address,
  txHash: r.tx_hash,
  logIndex: Number(r.log_index),
  blockNumber: BigInt(r.block_number),
  createdAt: new Date(r.created_at),
  walletId: r.wallet_id == null ? null : BigInt(r.wallet_id),
  confirmedAt: r.confirmed_at ? new Date(r.confirmed_at) : null,
});

export type RechargeFilter = {
  chainId?: number;
  uuid?: string;
  userId?: bigint;
  /** domain states (RechargeStatus) */
  statuses?: readonly number[];
  txHash?: string;
  createdFrom?: Date;
  createdTo?: Date;
};

/** A page of a merchant's recharge orders, newest first, and how many match. */
export async function listRechargeOrders(
  db: Queryable,
  merchantId: bigint,
  f: RechargeFilter,
  p: Page,
): Promise<{ count: number; list: RechargeOrderRecord[] }> {
  const where = ["r.merchant_id = $1"];
  const params: unknown[] = [merchantId];
  if (f.chainId !== undefined) where.push(`r.chain_id = $${params.push(f.chainId)}`);
  if (f.uuid !== undefined) where.push(`u.uuid = $${params.push(f.uuid)}`);
  if (f.userId !== undefined) where.push(`r.user_id = $${params.push(f.userId)}`);
  if (f.statuses) where.push(`r.status = ANY($${params.push(f.statuses)}::smallint[])`);
  if (f.txHash) where.push(`r.tx_hash = $${params.push(f.txHash.toLowerCase())}`);
  if (f.createdFrom) where.push(`r.created_at >= $${params.push(f.createdFrom)}`);
  if (f.createdTo) where.push(`r.created_at <= $${params.push(f.createdTo)}`);
  const w = where.join(" AND ");
  const [c] = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM recharge_orders r JOIN users u ON u.id = r.user_id WHERE ${w}`,
    params,
  );
  const rows = await db.query(
    `${SELECT} WHERE ${w} ORDER BY r.created_at DESC, r.recharge_no DESC LIMIT ${p.size} OFFSET ${(p.page - 1) * p.size}`,
    params,
  );
  return { count: Number(c!.n), list: rows.map(toRecharge) };
}

/** A merchant's recharge order by rechargeId; throws {NotFoundError}. */
export async function getRechargeOrder(db: Queryable, merchantId: bigint, no: bigint): Promise<RechargeOrderRecord> {
  const [row] = await db.query(`${SELECT} WHERE r.merchant_id = $1 AND r.recharge_no = $2`, [merchantId, no]);
  if (!row) throw new NotFoundError("recharge", no.toString());
  return toRecharge(row);
}

/** A recharge order by its row id, any merchant (the notifier's read); null when there is none. */
export async function getRechargeOrderById(db: Queryable, id: string): Promise<RechargeOrderRecord | null> {
  const [row] = await db.query(`${SELECT} WHERE r.id = $1`, [id]);
  return row ? toRecharge(row) : null;
}

/** The outbox payload of a recharge event (the notifier reads `from` and `status`; callbacks carry the current object). */
export function rechargeWebhookPayload(r: RechargeOrderRecord) {
  return {
    rechargeOrderId: r.id,
    userId: r.userId.toString(),
    uuid: r.uuid,
    state: r.status,
    chainId: r.chainId,
    token: r.tokenAddress,
    amount: r.amount.toString(),
    fromAddress: r.fromAddress,
    toAddress: r.toAddress,
    txHash: r.txHash,
    logIndex: r.logIndex,
  };
}

/** recharge/notify: the latest event again (forced) under its id, or a snapshot if there is none. */
export async function requeueRechargeNotification(db: Db, merchantId: bigint, no: bigint): Promise<string> {
  return db.transaction(async (tx) => {
    const r = await getRechargeOrder(tx, merchantId, no);
    const again = await requeueLatestEvent(tx, "recharge", r.id);
    if (again) return again;
    const eventId = newId();
    await insertOutboxEvent(tx, {
      id: eventId,
      merchantId,
      aggregateKind: "recharge",
      aggregateId: r.id,
      type: "recharge.snapshot",
      payload: rechargeWebhookPayload(r),
    });
    return eventId;
  });
}
