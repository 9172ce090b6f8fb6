import { BaseError } from "../domain/errors.js";
import type { Queryable } from "./db.js";

/** A signed request's nonce, scoped to the API key that signed it. */
export type RequestNonce = { keyId: string; nonce: string };

/** The API key already used this nonce within the window (a replay); nothing was written. */
export class NonceReusedError extends BaseError {
  override name = "NonceReusedError";
  constructor() {
    super("nonce already used with this API key");
  }
}

/**
 * Records a request nonce for an API key. Returns false if the key already used it (a replay).
 * Nonces older than the timestamp window can be purged: a request that old is refused by its timestamp.
 */
export async function useNonce(db: Queryable, keyId: string, nonce: string): Promise<boolean> {
  const rows = await db.query(
    "INSERT INTO api_nonces (key_id, nonce) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1 AS ok",
    [keyId, nonce],
  );
  return rows.length === 1;
}

/** Deletes nonces seen more than `windowMs` ago (twice the window, to be safe against clock skew). */
export async function purgeNonces(db: Queryable, windowMs: number): Promise<number> {
  const rows = await db.query("DELETE FROM api_nonces WHERE seen_at < now() - make_interval(secs => $1) RETURNING 1", [
    (2 * windowMs) / 1000,
  ]);
  return rows.length;
}
