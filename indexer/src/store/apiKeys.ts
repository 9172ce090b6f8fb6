import type { SecretBox } from "../crypto/secretBox.js";
import type { Db, Queryable } from "./db.js";
import { rotateApiKey } from "./merchants.js";

/**
 * A merchant's API keys as the console lists them: never the secret (it is shown once, when made).
 * `lastUsedAt` comes from the signed requests' nonces when the API purges them (a trigger, migration 070), so
 * it lags by up to twice the API's timestamp window plus a minute; `touchApiKey` records a use at once.
 */
export type ApiKeyInfo = {
  keyId: string;
  label: string | null;
  active: boolean;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
};

export async function listApiKeys(db: Queryable, merchantId: bigint): Promise<ApiKeyInfo[]> {
  const rows = await db.query(
    "SELECT key_id, label, active, created_at, revoked_at, last_used_at FROM merchant_api_keys WHERE merchant_id = $1 ORDER BY active DESC, created_at DESC",
    [merchantId],
  );
  return rows.map((r) => ({
    keyId: r.key_id,
    label: r.label ?? null,
    active: r.active,
    createdAt: new Date(r.created_at),
    revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
    lastUsedAt: r.last_used_at ? new Date(r.last_used_at) : null,
  }));
}

/** Makes a new API key with a label; the secret is returned here only. */
export async function createLabeledApiKey(
  db: Db,
  box: SecretBox,
  merchantId: bigint,
  label: string | null,
): Promise<{ apiKey: string; apiSecret: string }> {
  const made = await rotateApiKey(db, box, merchantId, { revokeOthers: false });
  if (label) await db.query("UPDATE merchant_api_keys SET label = $2 WHERE key_id = $1", [made.apiKey, label]);
  return made;
}

/**
 * Revokes one of the merchant's keys (the API refuses it within its key cache time, 30 s). False when the
 * merchant has no such active key.
 */
export async function revokeApiKey(db: Queryable, merchantId: bigint, keyId: string): Promise<boolean> {
  const rows = await db.query(
    "UPDATE merchant_api_keys SET active = false, revoked_at = now() WHERE merchant_id = $1 AND key_id = $2 AND active RETURNING 1",
    [merchantId, keyId],
  );
  return rows.length === 1;
}

/** Records a use of a key now, at most one write a minute (for an auth path that keeps no nonces, or wants it exact). */
export async function touchApiKey(db: Queryable, keyId: string): Promise<void> {
  await db.query(
    "UPDATE merchant_api_keys SET last_used_at = now() WHERE key_id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
    [keyId],
  );
}
