import { newId } from "../domain/ids.js";
import type { RechargeStatus } from "../domain/orderStateMachine.js";
import type { Db, Queryable } from "./db.js";
import { NotFoundError } from "./errors.js";
import { insertOutboxEvent, requeueLatestEvent } from "./outbox.js";

/** Recharge orders are written by the chain follower; this module reads them for the merchant API. */
export type RechargeOrderRecord = {
  id: string;
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
};

const SELECT = `SELECT r.*, u.uuid FROM recharge_orders r JOIN users u ON u.id = r.user_id`;

export const toRecharge = (r: Record<string, any>): RechargeOrderRecord => ({
  id: r.id,
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
});

export type RechargeFilter = {
  userId?: string;
  uuid?: string;
  chainId?: number;
  status?: number;
  tokenAddress?: string;
};

/**
 * A page of a merchant's recharge orders, newest first. `cursor` is the last id of the previous page
 * (ids are ULIDs, so they sort by creation time); `nextCursor` is null on the last page.
 */
export async function listRechargeOrders(
  db: Queryable,
  merchantId: bigint,
  { filter, cursor, limit }: { filter: RechargeFilter; cursor?: string; limit: number },
): Promise<{ list: RechargeOrderRecord[]; nextCursor: string | null }> {
  const where = ["r.merchant_id = $1"];
  const params: unknown[] = [merchantId];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    where.push(sql.replace("?", `$${params.length}`));
  };
  if (filter.userId) add("r.user_id = ?", filter.userId);
  if (filter.uuid) add("u.uuid = ?", filter.uuid);
  if (filter.chainId !== undefined) add("r.chain_id = ?", filter.chainId);
  if (filter.status !== undefined) add("r.status = ?", filter.status);
  if (filter.tokenAddress) add("r.token_address = ?", filter.tokenAddress.toLowerCase());
  if (cursor) add("r.id < ?", cursor);
  params.push(limit + 1);
  const rows = await db.query(`${SELECT} WHERE ${where.join(" AND ")} ORDER BY r.id DESC LIMIT $${params.length}`, params);
  const list = rows.slice(0, limit).map(toRecharge);
  return { list, nextCursor: rows.length > limit ? list[list.length - 1]!.id : null };
}

/** A merchant's recharge order; throws {NotFoundError}. */
export async function getRechargeOrder(db: Queryable, merchantId: bigint, id: string): Promise<RechargeOrderRecord> {
  const [row] = await db.query(`${SELECT} WHERE r.merchant_id = $1 AND r.id = $2`, [merchantId, id]);
  if (!row) throw new NotFoundError("recharge", id);
  return toRecharge(row);
}

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

/** recharge/notify: queue the latest webhook again under its id, or a snapshot if there is none. */
export async function requeueRechargeNotification(db: Db, merchantId: bigint, id: string): Promise<string> {
  return db.transaction(async (tx) => {
    const r = await getRechargeOrder(tx, merchantId, id);
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
