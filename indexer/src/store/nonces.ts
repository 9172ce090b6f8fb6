import type { Queryable } from "./db.js";

/**
 * The replay guard of signed writes (api/auth.ts): Pay Protocol's requests carry no nonce, so a write that no
 * business key makes idempotent is accepted once per X-PAY-SIGN and API key. The signatures live in
 * `api_nonces` (its `nonce` column holds them) for twice the timestamp window; a request older than the window
 * is refused by its timestamp, so an expired entry can never let a replay through.
 */

/** Records a signature for an API key; false when the key already used it (a replay). */
export async function rememberSignature(db: Queryable, keyId: string, sign: string): Promise<boolean> {
  const rows = await db.query("INSERT INTO api_nonces (key_id, nonce) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1 AS ok", [
    keyId,
    sign,
  ]);
  return rows.length === 1;
}

/** Forgets a signature whose request was refused or failed, so the same signed request can be sent again. */
export async function forgetSignature(db: Queryable, keyId: string, sign: string): Promise<void> {
  await db.query("DELETE FROM api_nonces WHERE key_id = $1 AND nonce = $2", [keyId, sign]);
}

/** Deletes signatures seen more than twice `windowMs` ago. */
export async function purgeNonces(db: Queryable, windowMs: number): Promise<number> {
  const rows = await db.query("DELETE FROM api_nonces WHERE seen_at < now() - make_interval(secs => $1) RETURNING 1", [
    (2 * windowMs) / 1000,
  ]);
  return rows.length;
}
