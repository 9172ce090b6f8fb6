import { BaseError } from "../domain/errors.js";
import type { Queryable } from "./db.js";

/**
 * Who may use a merchant's console. The merchant's registered payout signer is always an admin (it is the
 * key the vault obeys); other addresses are members with a role. Roles are ordered: each one may do what
 * the ones before it may.
 */
export const CONSOLE_ROLES = ["viewer", "operator", "approver", "admin"] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

/** Whether `role` may do what `needed` may. */
export const roleAllows = (role: ConsoleRole, needed: ConsoleRole) => CONSOLE_ROLES.indexOf(role) >= CONSOLE_ROLES.indexOf(needed);

export const isConsoleRole = (v: unknown): v is ConsoleRole => typeof v === "string" && (CONSOLE_ROLES as readonly string[]).includes(v);

export type ConsoleMemberRecord = {
  merchantId: bigint;
  /** lowercase */
  address: string;
  role: ConsoleRole;
  label: string | null;
  /** the payout signer: an admin by the vault's registration, not a row (cannot be removed here) */
  signer: boolean;
  addedBy: string | null;
  createdAt: Date | null;
};

/** A member change that cannot be made (the payout signer's role, the last admin, a malformed address). */
export class MemberChangeError extends BaseError {
  override name = "MemberChangeError";
}

const ADDRESS = /^0x[0-9a-f]{40}$/;

function toMember(r: Record<string, any>): ConsoleMemberRecord {
  return {
    merchantId: BigInt(r.merchant_id),
    address: r.address,
    role: r.role,
    label: r.label ?? null,
    signer: false,
    addedBy: r.added_by ?? null,
    createdAt: new Date(r.created_at),
  };
}

/**
 * The role `address` holds at `merchantId`: admin for the registered payout signer of a merchant whose
 * payouts the merchant signs itself, else its member row's role; null when it has none.
 */
export async function consoleRoleOf(db: Queryable, merchantId: bigint, address: string): Promise<ConsoleRole | null> {
  const [row] = await db.query<{ signer: boolean; role: ConsoleRole | null }>(
    `SELECT (m.payout_key_mode = 'merchant' AND m.payout_signer = $2) AS signer, c.role
     FROM merchants m LEFT JOIN console_members c ON c.merchant_id = m.id AND c.address = $2
     WHERE m.id = $1`,
    [merchantId, address.toLowerCase()],
  );
  if (!row) return null;
  return row.signer ? "admin" : (row.role ?? null);
}

/** Every merchant `address` may open, with its role there and the merchant's name, by merchant id. */
export async function consoleMerchantsOf(
  db: Queryable,
  address: string,
): Promise<{ merchantId: bigint; name: string; role: ConsoleRole }[]> {
  const rows = await db.query<{ id: string; name: string; signer: boolean; role: ConsoleRole | null }>(
    `SELECT m.id, m.name, (m.payout_key_mode = 'merchant' AND m.payout_signer = $1) AS signer, c.role
     FROM merchants m LEFT JOIN console_members c ON c.merchant_id = m.id AND c.address = $1
     WHERE (m.payout_key_mode = 'merchant' AND m.payout_signer = $1) OR c.address IS NOT NULL
     ORDER BY m.id`,
    [address.toLowerCase()],
  );
  return rows.map((r) => ({ merchantId: BigInt(r.id), name: r.name, role: r.signer ? "admin" : r.role! }));
}

/** The merchant's members, the payout signer first (when the merchant signs its own payouts). */
export async function listConsoleMembers(db: Queryable, merchantId: bigint): Promise<ConsoleMemberRecord[]> {
  const [m] = await db.query<{ payout_signer: string | null; payout_key_mode: string }>(
    "SELECT payout_signer, payout_key_mode FROM merchants WHERE id = $1",
    [merchantId],
  );
  const rows = await db.query("SELECT * FROM console_members WHERE merchant_id = $1 ORDER BY created_at, address", [merchantId]);
  const members = rows.map(toMember);
  const signer = m?.payout_key_mode === "merchant" ? m.payout_signer : null;
  if (!signer) return members;
  return [
    { merchantId, address: signer, role: "admin", label: null, signer: true, addedBy: null, createdAt: null },
    ...members.filter((x) => x.address !== signer),
  ];
}

/** Adds a member or changes its role and label (one row per merchant and address). */
export async function upsertConsoleMember(
  db: Queryable,
  p: { merchantId: bigint; address: string; role: ConsoleRole; label?: string | null; addedBy: string | null },
): Promise<ConsoleMemberRecord> {
  const address = p.address.toLowerCase();
  if (!ADDRESS.test(address)) throw new MemberChangeError(`"${p.address}" is not an address: give 0x and 40 hex digits`);
  if (!isConsoleRole(p.role)) throw new MemberChangeError(`"${p.role}" is not a role: use one of ${CONSOLE_ROLES.join(", ")}`);
  const [row] = await db.query(
    `INSERT INTO console_members (merchant_id, address, role, label, added_by) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (merchant_id, address) DO UPDATE SET role = EXCLUDED.role, label = COALESCE(EXCLUDED.label, console_members.label),
       updated_at = now()
     RETURNING *`,
    [p.merchantId, address, p.role, p.label ?? null, p.addedBy?.toLowerCase() ?? null],
  );
  return toMember(row!);
}

/** Removes a member (its open sessions lose their role at their next request). Returns whether one was removed. */
export async function removeConsoleMember(db: Queryable, merchantId: bigint, address: string): Promise<boolean> {
  const rows = await db.query("DELETE FROM console_members WHERE merchant_id = $1 AND address = $2 RETURNING 1", [
    merchantId,
    address.toLowerCase(),
  ]);
  return rows.length === 1;
}
