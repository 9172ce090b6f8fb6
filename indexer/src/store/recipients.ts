import type { Queryable } from "./db.js";

const ZERO = "0x0000000000000000000000000000000000000000";

/**
 * Why the vault must never pay `to` (issue 10 item 7), or null when it may: the zero address (tokens burn, a
 * native payout is lost), a configured vault (it would credit no one), or a deposit address of this gateway (a
 * payment or recharge address on any configured chain: the funds would be swept back or credited as a
 * payment). The merchant API and the console both refuse such a recipient, each in its own words.
 */
export async function payoutRecipientConflict(
  db: Queryable,
  chains: readonly { chainId: number; vault: string }[],
  to: string,
): Promise<string | null> {
  const a = to.toLowerCase();
  if (a === ZERO) return "the zero address";
  const vault = chains.find((c) => c.vault.toLowerCase() === a);
  if (vault) return `the vault of chain ${vault.chainId}`;
  const [hit] = await db.query<{ kind: string }>(
    `SELECT 'payment' AS kind FROM address_pool WHERE chain_id = ANY($1::bigint[]) AND address = $2
     UNION ALL SELECT 'recharge' FROM user_wallets WHERE chain_id = ANY($1::bigint[]) AND address = $2 LIMIT 1`,
    [chains.map((c) => c.chainId), a],
  );
  return hit ? `a ${hit.kind} deposit address of this gateway` : null;
}
