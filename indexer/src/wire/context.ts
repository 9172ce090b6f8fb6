import type { Hex } from "viem";
import type { ChainConfig, GatewayConfig } from "../config.js";
import { depositInitCodeHash } from "../domain/depositAddress.js";
import { syncCurrencies, type CurrencyRecord } from "../store/currencies.js";
import type { Queryable } from "../store/db.js";

export type ChainRuntime = ChainConfig & { initCodeHash: Hex };

/**
 * What the presenters need beyond a record: the configured chains (Pay Protocol's `chainId` is the EVM
 * chain id), the currency ids, and where the payment page is. Built once per process; the currency list is
 * the database's (every token ever numbered), refreshed when a lookup misses.
 */
export type WireContext = {
  chains: ChainRuntime[];
  chain(chainId: number): ChainRuntime | undefined;
  /** every currency ever numbered, configured ones first */
  currencies(): CurrencyRecord[];
  /** the currency of a token on a chain (undefined only for a token never configured) */
  currencyOf(chainId: number, tokenAddress: string): CurrencyRecord | undefined;
  currencyById(currencyId: number): CurrencyRecord | undefined;
  /** reloads the currency list (another process may have numbered a token) */
  refresh(): Promise<void>;
  payPageUrl: string;
};

/** Numbers the configured tokens (store/currencies.ts) and builds the context. */
export async function createWireContext(db: Queryable, config: Pick<GatewayConfig, "chains" | "payPageUrl">): Promise<WireContext> {
  const chains = config.chains.map((c) => ({ ...c, initCodeHash: depositInitCodeHash(c.vault) }));
  const byChain = new Map(chains.map((c) => [c.chainId, c]));
  const configured = chains.flatMap((c) =>
    c.tokens.map((t) => ({
      chainId: c.chainId,
      address: t.address,
      symbol: t.symbol,
      decimals: t.decimals,
      name: /^0x0{40}$/.test(t.address) ? c.name : t.symbol,
    })),
  );
  let list: CurrencyRecord[] = [];
  let byToken = new Map<string, CurrencyRecord>();
  let byId = new Map<number, CurrencyRecord>();
  const index = (rows: CurrencyRecord[]) => {
    list = rows;
    byToken = new Map(rows.map((c) => [`${c.chainId}:${c.address}`, c]));
    byId = new Map(rows.map((c) => [c.currencyId, c]));
  };
  index(await syncCurrencies(db, configured));
  return {
    chains,
    chain: (chainId) => byChain.get(chainId),
    currencies: () => list,
    currencyOf: (chainId, tokenAddress) => byToken.get(`${chainId}:${tokenAddress.toLowerCase()}`),
    currencyById: (id) => byId.get(id),
    async refresh() {
      index(await syncCurrencies(db, []));
    },
    payPageUrl: config.payPageUrl,
  };
}
