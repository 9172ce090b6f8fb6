import type { Address } from "viem";
import { DepositKind, depositAddress } from "../domain/depositAddress.js";
import type { Db, Queryable } from "./db.js";
import { NotFoundError } from "./errors.js";

export type UserWallet = { walletId: bigint; chainId: number; address: string };
export type UserRecord = {
  userId: bigint;
  merchantId: bigint;
  userNo: bigint;
  uuid: string;
  userType: number;
  createdAt: Date;
  wallets: UserWallet[];
};

export type ChainVault = { chainId: number; vault: Address; initCodeHash: `0x${string}` };

/**
 * Creates a merchant user with one fixed recharge address per configured chain (kind 2, key = the
 * user's per-merchant number; the same address on every chain whose vault has the same address).
 * Idempotent by (merchant, uuid): an existing user is returned as is, with wallets added for chains
 * configured since.
 */
export async function createUser(
  db: Db,
  p: {
    merchantId: bigint;
    uuid: string;
    chains: ChainVault[];
    /** Pay Protocol's userType: 0 recharge-type (default) */ userType?: number;
  },
): Promise<{ user: UserRecord; created: boolean }> {
  return db.transaction(async (tx) => {
    // the merchant row lock serialises user numbering per merchant
    const [counter] = await tx.query<{ no: string }>("SELECT next_user_no AS no FROM merchants WHERE id = $1 FOR UPDATE", [p.merchantId]);
    if (!counter) throw new NotFoundError("user", p.uuid);
    let [row] = await tx.query("SELECT * FROM users WHERE merchant_id = $1 AND uuid = $2", [p.merchantId, p.uuid]);
    const created = !row;
    if (!row) {
      [row] = await tx.query("INSERT INTO users (merchant_id, user_no, uuid, user_type) VALUES ($1, $2, $3, $4) RETURNING *", [
        p.merchantId,
        counter.no,
        p.uuid,
        p.userType ?? 0,
      ]);
      await tx.query("UPDATE merchants SET next_user_no = next_user_no + 1 WHERE id = $1", [p.merchantId]);
    }
    const userNo = BigInt(row!.user_no);
    for (const c of p.chains) {
      const address = depositAddress({
        vault: c.vault,
        merchantId: p.merchantId,
        kind: DepositKind.Recharge,
        key: userNo,
        initCodeHash: c.initCodeHash,
      }).toLowerCase();
      await tx.query(
        "INSERT INTO user_wallets (user_id, chain_id, address) VALUES ($1, $2, $3) ON CONFLICT (user_id, chain_id) DO NOTHING",
        [row!.id, c.chainId, address],
      );
    }
    return { user: await loadUser(tx, row!), created };
  });
}

async function loadUser(db: Queryable, row: Record<string, any>): Promise<UserRecord> {
  const wallets = await db.query("SELECT id, chain_id, address FROM user_wallets WHERE user_id = $1 ORDER BY chain_id", [row.id]);
  return {
    userId: BigInt(row.id),
    merchantId: BigInt(row.merchant_id),
    userNo: BigInt(row.user_no),
    uuid: row.uuid,
    userType: Number(row.user_type),
    createdAt: new Date(row.created_at),
    wallets: wallets.map((w) => ({ walletId: BigInt(w.id), chainId: Number(w.chain_id), address: w.address })),
  };
}

/** A merchant's user by userId and/or uuid (both must match when both are given); throws {NotFoundError}. */
export async function getUser(db: Queryable, merchantId: bigint, ref: { userId?: string; uuid?: string }) {
  const [row] = await db.query(
    "SELECT * FROM users WHERE merchant_id = $1 AND ($2::bigint IS NULL OR id = $2::bigint) AND ($3::text IS NULL OR uuid = $3) AND ($2::bigint IS NOT NULL OR $3::text IS NOT NULL)",
    [merchantId, ref.userId ?? null, ref.uuid ?? null],
  );
  if (!row) throw new NotFoundError("user", ref.userId ?? ref.uuid ?? "");
  return loadUser(db, row);
}
