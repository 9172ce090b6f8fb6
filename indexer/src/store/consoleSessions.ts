import type { Queryable } from "./db.js";

/**
 * Console sign-in nonces and sessions. Tokens are random and handed to the browser only; the tables keep
 * their sha256 (the caller hashes), so reading the database gives no way in.
 */

/** Records a sign-in nonce issued to one browser for one address. */
export async function insertSigninNonce(
  db: Queryable,
  p: { nonce: string; address: string; browser: string; ttlSeconds: number },
): Promise<void> {
  await db.query(
    "INSERT INTO console_signin_nonces (nonce, address, browser, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
    [p.nonce, p.address.toLowerCase(), p.browser, p.ttlSeconds],
  );
}

/**
 * Uses a sign-in nonce: true only the first time, before it expires, for the browser and address it was
 * issued to. One statement, so two requests racing with the same nonce cannot both win.
 */
export async function consumeSigninNonce(db: Queryable, p: { nonce: string; address: string; browser: string }): Promise<boolean> {
  const rows = await db.query(
    `UPDATE console_signin_nonces SET used_at = now()
     WHERE nonce = $1 AND address = $2 AND browser = $3 AND used_at IS NULL AND expires_at > now()
     RETURNING 1`,
    [p.nonce, p.address.toLowerCase(), p.browser],
  );
  return rows.length === 1;
}

export type ConsoleSessionRecord = {
  tokenHash: string;
  address: string;
  merchantId: bigint;
  csrfToken: string;
  /** null: the default view */
  sandbox: boolean | null;
  createdAt: Date;
  expiresAt: Date;
};

const toSession = (r: Record<string, any>): ConsoleSessionRecord => ({
  tokenHash: r.token_hash,
  address: r.address,
  merchantId: BigInt(r.merchant_id),
  csrfToken: r.csrf_token,
  sandbox: r.sandbox ?? null,
  createdAt: new Date(r.created_at),
  expiresAt: new Date(r.expires_at),
});

export async function createConsoleSession(
  db: Queryable,
  p: { tokenHash: string; address: string; merchantId: bigint; csrfToken: string; ttlSeconds: number },
): Promise<ConsoleSessionRecord> {
  const [row] = await db.query(
    `INSERT INTO console_sessions (token_hash, address, merchant_id, csrf_token, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING *`,
    [p.tokenHash, p.address.toLowerCase(), p.merchantId, p.csrfToken, p.ttlSeconds],
  );
  return toSession(row!);
}

/**
 * The live session of a token hash, touched (last_seen_at) in the same statement: null when unknown,
 * revoked, past its absolute end, or idle longer than `idleSeconds`.
 */
export async function findConsoleSession(db: Queryable, tokenHash: string, idleSeconds: number): Promise<ConsoleSessionRecord | null> {
  const [row] = await db.query(
    `UPDATE console_sessions SET last_seen_at = now()
     WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now() AND last_seen_at > now() - make_interval(secs => $2)
     RETURNING *`,
    [tokenHash, idleSeconds],
  );
  return row ? toSession(row) : null;
}

/** Changes what the session shows: another merchant of the same address, or the sandbox view. */
export async function updateConsoleSession(
  db: Queryable,
  tokenHash: string,
  p: { merchantId?: bigint; sandbox?: boolean | null },
): Promise<void> {
  await db.query(
    `UPDATE console_sessions SET merchant_id = COALESCE($2, merchant_id), sandbox = CASE WHEN $3 THEN $4 ELSE sandbox END
     WHERE token_hash = $1`,
    [tokenHash, p.merchantId ?? null, p.sandbox !== undefined, p.sandbox ?? null],
  );
}

/** Signs one session out. */
export async function revokeConsoleSession(db: Queryable, tokenHash: string): Promise<void> {
  await db.query("UPDATE console_sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL", [tokenHash]);
}

/** Signs an address out everywhere (every browser, every merchant). Returns how many sessions ended. */
export async function revokeConsoleSessionsOf(db: Queryable, address: string): Promise<number> {
  const rows = await db.query("UPDATE console_sessions SET revoked_at = now() WHERE address = $1 AND revoked_at IS NULL RETURNING 1", [
    address.toLowerCase(),
  ]);
  return rows.length;
}

/** Deletes nonces and sessions that ended more than a day ago. */
export async function purgeConsoleSessions(db: Queryable): Promise<void> {
  await db.query("DELETE FROM console_signin_nonces WHERE expires_at < now() - interval '1 day'");
  await db.query("DELETE FROM console_sessions WHERE COALESCE(revoked_at, expires_at) < now() - interval '1 day'");
}
