import { getAddress, type Hex } from "viem";
import type { ChainConfig, GatewayConfig, TokenConfig } from "../config.js";
import { accessKeyOf } from "../config.js";
import { createSecretBox, type SecretBox } from "../crypto/secretBox.js";
import { depositInitCodeHash } from "../domain/depositAddress.js";
import type { Db } from "../store/db.js";
import { ApiError, ErrorCode } from "./errors.js";

export type ChainRuntime = ChainConfig & { initCodeHash: Hex };

/** What the route handlers share: the store, the config and values derived from it once. */
export type GatewayContext = {
  db: Db;
  config: GatewayConfig;
  box: SecretBox;
  accessKey: Buffer;
  chain(chainId: number): ChainRuntime;
  token(chain: ChainRuntime, token: string): TokenConfig;
  chains: ChainRuntime[];
};

export function createGatewayContext(db: Db, config: GatewayConfig): GatewayContext {
  const chains = config.chains.map((c) => ({ ...c, initCodeHash: depositInitCodeHash(c.vault) }));
  const byId = new Map(chains.map((c) => [c.chainId, c]));
  const configured = () => chains.map((c) => `${c.chainId} (${c.code})`).join(", ");
  return {
    db,
    config,
    box: createSecretBox(config.masterKey),
    accessKey: accessKeyOf(config),
    chains,
    chain(chainId) {
      const c = byId.get(chainId);
      if (!c) throw new ApiError(ErrorCode.UnknownChain, `chainId ${chainId} is not configured; use one of: ${configured()}`);
      return c;
    },
    token(chain, token) {
      const t = token.startsWith("0x")
        ? chain.tokens.find((x) => x.address.toLowerCase() === token.toLowerCase())
        : chain.tokens.find((x) => x.symbol.toUpperCase() === token.toUpperCase());
      if (!t) {
        const known = chain.tokens.map((x) => `${x.symbol} (${x.address})`).join(", ");
        throw new ApiError(ErrorCode.UnknownToken, `token "${token}" is not accepted on chain ${chain.chainId}; use one of: ${known}`);
      }
      return t;
    },
  };
}

/** Times in responses: `YYYY-MM-DD HH:mm:ss` in UTC, as in seed 001. */
export const formatTime = (d: Date) => d.toISOString().replace("T", " ").slice(0, 19);
export const checksum = (a: string | null) => (a ? getAddress(a) : null);
