import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { getAddress, type Address } from "viem";
import { BaseError } from "./domain/errors.js";

export type TokenConfig = {
  symbol: string;
  /** `0x0000000000000000000000000000000000000000` for the chain's native coin */
  address: Address;
  decimals: number;
  /** wei per base unit of the token (decimal string): lets the sweeper weigh gas against a token's value */
  priceWei?: string;
};

export type ChainConfig = {
  chainId: number;
  /** short code used in the pay URL (`chainCode`), e.g. "eth", "polygon", "local" */
  code: string;
  name: string;
  /** the PaymentVault (deposit-address factory) on this chain */
  vault: Address;
  confirmations: number;
  tokens: TokenConfig[];
  /** JSON-RPC endpoint the follower and the money movers use (required by `npm start`, not by the API alone) */
  rpcUrl?: string;
  /** optional WebSocket endpoint: new heads wake the follower at once instead of at the next poll */
  wsUrl?: string;
  /** "depth" counts `confirmations` (default); "finalized" waits for the RPC's finalized block */
  finality?: "depth" | "finalized";
  /** first block to index on a fresh database (default: the vault's deployment block, else the head) */
  startBlock?: number;
  /** a `deployments/<chainId>.json` written by scripts/deploy.ts: supplies `vault` and `startBlock` */
  deployment?: string;
};

export type GatewayConfig = {
  /** PostgreSQL server; when absent PGlite is used */
  databaseUrl?: string;
  /** PGlite data directory (default ./.data/pglite); "memory://" for a throwaway database */
  pgliteDir: string;
  /** 32 bytes: encrypts stored secrets and derives the accessSign key */
  masterKey: Buffer;
  /** base of the hosted payment page; the pay URL adds `?accessSign=&merchantOrderId=&payOrderId=&chainCode=` */
  payPageUrl: string;
  /** payment order lifetime when the request names none, and the largest it may name */
  orderTtlSeconds: number;
  maxOrderTtlSeconds: number;
  /** the shortest lifetime a request may name (default 60 s; the demo shortens it to show expiry) */
  minOrderTtlSeconds: number;
  /** how long a released payment address rests before another order may lease it */
  poolCooldownSeconds: number;
  /** lifetime of a payout approval: the EIP-712 `deadline` is set this far after the refund/withdrawal is created */
  payoutDeadlineSeconds: number;
  /** requests per second per API key, per process (burst: twice that) */
  rateLimitPerSecond: number;
  /** how far X-PAY-TIMESTAMP (unix seconds) may be from the server clock (default 60 s, Pay Protocol's rule) */
  authWindowMs: number;
  chains: ChainConfig[];
  host: string;
  port: number;
  logLevel: string;
  /**
   * 0x-hex private key of the operator: relays sweeps and merchant-signed payouts (it holds the vault's
   * OPERATOR role, never merchant funds). From OPERATOR_PRIVATE_KEY or OPERATOR_KEY_FILE; never in the file.
   */
  operatorKey?: `0x${string}`;
  /** webhook delays after each failed attempt, ms (default: 15 s, 30 s, 3 min, 5 min, 10 min, … about two days) */
  webhookRetryScheduleMs?: number[];
  /** per webhook attempt (default 10 s) */
  webhookTimeoutMs?: number;
  /** how long a claimed webhook is hidden from other workers, so a crashed worker's claim expires (default timeout + 30 s) */
  webhookLeaseMs?: number;
  /** head polling of the followers, ms (default 2,000) */
  pollIntervalMs?: number;
  /** a sweep may cost at most this share of the value it moves, basis points (default 500 = 5%) */
  sweepMaxGasShareBps?: number;
  /**
   * Deliver webhooks to notify URLs that resolve to loopback, private, link-local, CGNAT, multicast or
   * unspecified addresses (default false: such targets are refused, so a merchant cannot aim the gateway
   * at its own network). Tests and the local demo set it.
   */
  allowPrivateWebhookTargets?: boolean;
}

export const NATIVE_TOKEN: Address = "0x0000000000000000000000000000000000000000";

export class ConfigError extends BaseError {
  override name = "ConfigError";
}

/** The access-sign key, derived from the master key so one secret is enough. */
export function accessKeyOf(config: Pick<GatewayConfig, "masterKey">): Buffer {
  return createHmac("sha256", config.masterKey).update("gateway/access-sign").digest();
}

/** Completes a partial config with the defaults (used by tests and by {loadConfig}). */
export function resolveConfig(partial: Partial<GatewayConfig> & Pick<GatewayConfig, "masterKey" | "chains">): GatewayConfig {
  const config: GatewayConfig = {
    pgliteDir: "./.data/pglite",
    payPageUrl: "http://localhost:8080/pay",
    orderTtlSeconds: 30 * 60,
    maxOrderTtlSeconds: 7 * 24 * 3600,
    minOrderTtlSeconds: 60,
    poolCooldownSeconds: 24 * 3600,
    authWindowMs: 60 * 1000, // Pay Protocol: X-PAY-TIMESTAMP at most 60 s off
    payoutDeadlineSeconds: 3 * 24 * 3600,
    rateLimitPerSecond: 500,
    host: "127.0.0.1",
    port: 8080,
    logLevel: "info",
    ...partial,
  };
  const seen = new Set<number>();
  for (const c of config.chains) {
    if (seen.has(c.chainId)) throw new ConfigError(`Chain ${c.chainId} is configured twice`);
    seen.add(c.chainId);
    if (c.deployment) applyDeployment(c);
    if (!c.vault) throw new ConfigError(`Chain ${c.chainId} needs "vault" or "deployment" (a deployments/<chainId>.json file)`);
    c.vault = getAddress(c.vault);
    for (const t of c.tokens) t.address = getAddress(t.address);
  }
  return config;
}

const SECRET_ENV = { masterKey: "GATEWAY_MASTER_KEY", operatorKey: "OPERATOR_PRIVATE_KEY", databaseUrl: "DATABASE_URL" } as const;

/** Takes the vault address and deployment block from a file written by scripts/deploy.ts. */
function applyDeployment(c: ChainConfig): void {
  let d: { chainId?: number; vault?: string; blockNumber?: number };
  try {
    d = JSON.parse(readFileSync(c.deployment!, "utf8"));
  } catch (e) {
    throw new ConfigError(`Chain ${c.chainId}: cannot read deployment file ${c.deployment}: ${(e as Error).message}`);
  }
  if (d.chainId !== undefined && Number(d.chainId) !== c.chainId) {
    throw new ConfigError(`Chain ${c.chainId}: deployment file ${c.deployment} is for chain ${d.chainId}`);
  }
  c.vault ??= d.vault as Address;
  c.startBlock ??= d.blockNumber;
}

/**
 * Reads the configuration: a JSON file named by GATEWAY_CONFIG (any {GatewayConfig} field but the
 * master key), then the environment: DATABASE_URL, PGLITE_DIR, GATEWAY_MASTER_KEY (64 hex; else a key
 * file GATEWAY_MASTER_KEY_FILE, default ./.data/master.key, created on first start), PAY_PAGE_URL, HOST,
 * PORT, LOG_LEVEL, ALLOW_PRIVATE_WEBHOOK_TARGETS=1. Without a file, one local chain (31337) with the vault from VAULT_ADDRESS.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const file = env.GATEWAY_CONFIG ? (JSON.parse(readFileSync(env.GATEWAY_CONFIG, "utf8")) as Partial<GatewayConfig>) : {};
  for (const secret of ["masterKey", "operatorKey", "databaseUrl"] as const) {
    if (secret in file) {
      throw new ConfigError(`${env.GATEWAY_CONFIG}: "${secret}" is a secret and does not belong in the config file; set ${SECRET_ENV[secret]} instead`);
    }
  }
  const chains: ChainConfig[] = file.chains ?? [
    {
      chainId: 31337,
      code: "local",
      name: "Hardhat local",
      vault: (env.VAULT_ADDRESS as Address | undefined) ?? NATIVE_TOKEN,
      confirmations: 1,
      tokens: [{ symbol: "ETH", address: NATIVE_TOKEN, decimals: 18 }],
    },
  ];
  return resolveConfig({
    ...file,
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    ...(env.PGLITE_DIR ? { pgliteDir: env.PGLITE_DIR } : {}),
    ...(env.PAY_PAGE_URL ? { payPageUrl: env.PAY_PAGE_URL } : {}),
    ...(env.HOST ? { host: env.HOST } : {}),
    ...(env.PORT ? { port: Number(env.PORT) } : {}),
    ...(env.LOG_LEVEL ? { logLevel: env.LOG_LEVEL } : {}),
    ...(env.ALLOW_PRIVATE_WEBHOOK_TARGETS === "1" ? { allowPrivateWebhookTargets: true } : {}),
    ...loadOperatorKey(env),
    masterKey: loadMasterKey(env),
    chains,
  });
}

function loadOperatorKey(env: NodeJS.ProcessEnv): { operatorKey?: `0x${string}` } {
  const raw = env.OPERATOR_PRIVATE_KEY ?? (env.OPERATOR_KEY_FILE ? readFileSync(env.OPERATOR_KEY_FILE, "utf8").trim() : undefined);
  if (raw === undefined) return {};
  const hex = raw.startsWith("0x") ? raw : `0x${raw}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new ConfigError("OPERATOR_PRIVATE_KEY must be 32 bytes of hex (64 characters, 0x optional)");
  return { operatorKey: hex as `0x${string}` };
}

function loadMasterKey(env: NodeJS.ProcessEnv): Buffer {
  const hex = env.GATEWAY_MASTER_KEY;
  if (hex) {
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new ConfigError("GATEWAY_MASTER_KEY must be 64 hex characters (32 bytes)");
    return Buffer.from(hex, "hex");
  }
  const path = env.GATEWAY_MASTER_KEY_FILE ?? "./.data/master.key";
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, randomBytes(32).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  }
  const key = readFileSync(path, "utf8").trim();
  if (!/^[0-9a-fA-F]{64}$/.test(key)) throw new ConfigError(`${path} must hold 64 hex characters`);
  return Buffer.from(key, "hex");
}
