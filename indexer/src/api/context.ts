import { getAddress } from "viem";
import type { GatewayConfig, TokenConfig } from "../config.js";
import { accessKeyOf } from "../config.js";
import { createSecretBox, type SecretBox } from "../crypto/secretBox.js";
import { createQuoter, type Quoter } from "../pricing/quoter.js";
import type { Db } from "../store/db.js";
import { createWireContext, type ChainRuntime, type WireContext } from "../wire/context.js";
import { ApiError, ErrorCode } from "../wire/errors.js";

export type { ChainRuntime };

/** What the route handlers share: the store, the config, the wire context and values derived from them once. */
export type GatewayContext = {
  db: Db;
  config: GatewayConfig;
  box: SecretBox;
  accessKey: Buffer;
  wire: WireContext;
  chains: ChainRuntime[];
  /** a configured chain; throws 40003 naming the configured ones */
  chain(chainId: number): ChainRuntime;
  /** a token of a chain by symbol (case-insensitive) or address; throws 40004 naming the accepted ones */
  token(chain: ChainRuntime, token: string): TokenConfig;
  /** a token by its currencyId, which must be on `chain`; throws 40004 */
  currency(chain: ChainRuntime, currencyId: number, field?: string): TokenConfig;
  /**
   * Fiat quotes over the chains with a `pricing` config (null when none has one: isLegalTender 1 answers
   * 40012). One per process: its feed readers share one read per feed and block among all requests.
   */
  quoter: Quoter | null;
};

export type GatewayContextOptions = {
  /** the quoter to use instead of one over the configured chains' RPCs (tests) */
  quoter?: Quoter | null;
};

/** The quoter over every chain with a `pricing` config, or null when no chain has one. */
export function quoterOf(config: Pick<GatewayConfig, "chains">): Quoter | null {
  const priced = config.chains.filter((c) => c.pricing);
  if (priced.length === 0) return null;
  return createQuoter({
    chains: priced.map((c) => ({ chainId: c.chainId, rpcUrl: c.rpcUrl, tokens: c.tokens, pricing: c.pricing })),
  });
}

export async function createGatewayContext(db: Db, config: GatewayConfig, options: GatewayContextOptions = {}): Promise<GatewayContext> {
  const wire = await createWireContext(db, config);
  const chains = wire.chains;
  const byId = new Map(chains.map((c) => [c.chainId, c]));
  const configured = () => chains.map((c) => `${c.chainId} (${c.name})`).join(", ");
  const accepted = (chain: ChainRuntime) =>
    chain.tokens.map((x) => `${x.symbol} (currencyId ${wire.currencyOf(chain.chainId, x.address)?.currencyId ?? "?"})`).join(", ");
  return {
    db,
    config,
    box: createSecretBox(config.masterKey),
    accessKey: accessKeyOf(config),
    wire,
    chains,
    quoter: options.quoter === undefined ? quoterOf(config) : options.quoter,
    chain(chainId) {
      const c = byId.get(chainId);
      if (!c)
        throw new ApiError(ErrorCode.UnknownChain, `chainId ${chainId} is not configured; use one of: ${configured()} (the EVM chain id)`);
      return c;
    },
    token(chain, token) {
      const t = token.startsWith("0x")
        ? chain.tokens.find((x) => x.address.toLowerCase() === token.toLowerCase())
        : chain.tokens.find((x) => x.symbol.toUpperCase() === token.toUpperCase());
      if (!t)
        throw new ApiError(ErrorCode.UnknownToken, `"${token}" is not accepted on chain ${chain.chainId}; use one of: ${accepted(chain)}`);
      return t;
    },
    currency(chain, currencyId, field = "currencyId") {
      const c = wire.currencyById(currencyId);
      const t = c && c.chainId === chain.chainId ? chain.tokens.find((x) => x.address.toLowerCase() === c.address) : undefined;
      if (!t)
        throw new ApiError(
          ErrorCode.UnknownToken,
          `${field} ${currencyId} is not accepted on chain ${chain.chainId}; use one of: ${accepted(chain)}`,
        );
      return t;
    },
  };
}

/** Times in responses: `YYYY-MM-DD HH:mm:ss` in UTC, as in seed 001. */
export { formatTime } from "../wire/presenters.js";
export const checksum = (a: string | null) => (a ? getAddress(a) : null);
