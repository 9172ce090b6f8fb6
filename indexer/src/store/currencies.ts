import type { Queryable } from "./db.js";

/** One token on one chain with its stable integer id (Pay Protocol's currencyId; table `currencies`, migration 010). */
export type CurrencyRecord = {
  currencyId: number;
  chainId: number;
  /** lowercase; 0x000…0 for the native coin */
  address: string;
  symbol: string;
  /** null only for a token old rows used that no configured chain names any more */
  decimals: number | null;
  name: string | null;
  createdAt: Date;
};

export type ConfiguredToken = { chainId: number; address: string; symbol: string; decimals: number; name: string };

const toCurrency = (r: Record<string, any>): CurrencyRecord => ({
  currencyId: Number(r.id),
  chainId: Number(r.chain_id),
  address: r.address,
  symbol: r.symbol,
  decimals: r.decimals == null ? null : Number(r.decimals),
  name: r.name ?? null,
  createdAt: new Date(r.created_at),
});

/**
 * Gives every configured token its currencyId (new ones numbered in configuration order; known ones keep
 * theirs and take the configured symbol, decimals and name) and returns every currency ever numbered, so
 * rows of a token no longer configured still show theirs. Safe to run from several processes at once.
 */
export async function syncCurrencies(db: Queryable, tokens: readonly ConfiguredToken[]): Promise<CurrencyRecord[]> {
  if (tokens.length > 0) {
    await db.query(
      `INSERT INTO currencies (chain_id, address, symbol, decimals, name)
       SELECT t.chain_id, t.address, t.symbol, t.decimals, t.name
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::smallint[], $5::text[]) WITH ORDINALITY AS t(chain_id, address, symbol, decimals, name, n)
       ORDER BY t.n
       ON CONFLICT (chain_id, address) DO UPDATE SET symbol = EXCLUDED.symbol, decimals = EXCLUDED.decimals, name = EXCLUDED.name
       WHERE (currencies.symbol, currencies.decimals, currencies.name) IS DISTINCT FROM (EXCLUDED.symbol, EXCLUDED.decimals, EXCLUDED.name)`,
      [
        tokens.map((t) => t.chainId),
        tokens.map((t) => t.address.toLowerCase()),
        tokens.map((t) => t.symbol),
        tokens.map((t) => t.decimals),
        tokens.map((t) => t.name),
      ],
    );
  }
  return listCurrencies(db);
}

export async function listCurrencies(db: Queryable): Promise<CurrencyRecord[]> {
  return (await db.query("SELECT * FROM currencies ORDER BY id")).map(toCurrency);
}
