import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { getAddress, type Address } from "viem";
import { z } from "zod";
import { BaseError } from "./domain/errors.js";
import { chainPricingSchema, parseChainPricing } from "./pricing/config.js";

/**
 * The gateway's configuration: ONE zod schema for the JSON file (GATEWAY_CONFIG) and the environment, and the
 * one loader (`loadConfig`) that every entry point uses (`npm start`, the CLIs, the doctor).
 *
 * A module that needs its own settings adds a field to the shape it belongs to (`chainShape` for per-chain
 * settings, `settingsShape` for the file's top level), with its own schema exported from its module, e.g.
 * `priceFeeds: priceFeedsSchema.optional()`. Unknown keys are refused everywhere (with a "did you mean"), so a
 * field exists for the loader only once it is in a shape here.
 */

export const NATIVE_TOKEN: Address = "0x0000000000000000000000000000000000000000";

export class ConfigError extends BaseError {
  override name = "ConfigError";
}

// ---------------------------------------------------------------------------------------------- field schemas

/** JSON of the received value for an error line: `"30m"`, `12`, `null`. */
const shown = (v: unknown) => JSON.stringify(v)?.slice(0, 80) ?? String(v);
/** The error line of a field: "required" when missing, else what was expected and what came. */
const expected = (what: string) => (i: { input?: unknown }) =>
  i.input === undefined ? "required" : `expected ${what}, got ${shown(i.input)}`;

/** A whole number in [min, max]; the message names what it counts. */
export const integer = (what: string, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z
    .number({ error: expected(what) })
    .int({ error: expected(`${what} (a whole number)`) })
    .min(min, { error: expected(`${what} of at least ${min}`) })
    .max(max, { error: expected(`${what} of at most ${max}`) });

export const seconds = (min = 1) => integer("a number of seconds", min);
export const milliseconds = (min = 1) => integer("a number of milliseconds", min);

/** A 0x address, returned checksummed. */
export const addressSchema = z
  .string({ error: expected("a 0x address (40 hex digits)") })
  .regex(/^0x[0-9a-fA-F]{40}$/, { error: expected("a 0x address (40 hex digits)") })
  .transform((a) => getAddress(a));

/** An integer amount in base units as a decimal string (JSON numbers lose precision above 2^53). */
export const baseUnitsSchema = z
  .string({ error: expected('an integer in base units as a decimal string (e.g. "10000000000000000")') })
  .regex(/^[0-9]{1,78}$/, { error: expected('an integer in base units as a decimal string (e.g. "10000000000000000")') });

const urlSchema = (schemes: string[], example: string) =>
  z.string({ error: expected(`a URL like ${example}`) }).refine(
    (s) => {
      try {
        return schemes.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    { error: expected(`a ${schemes.map((s) => s.replace(":", "")).join(" or ")} URL like ${example}`) },
  );

const text = (what: string, pattern?: RegExp) => {
  const s = z.string({ error: expected(what) }).min(1, { error: `expected ${what}, got an empty string` });
  return pattern ? s.regex(pattern, { error: expected(what) }) : s;
};

const bool = z.boolean({ error: expected("true or false") });

// ---------------------------------------------------------------------------------------------- shapes

export const tokenShape = {
  symbol: text('a token symbol such as "USDT"', /^[A-Za-z0-9.$_-]{1,16}$/),
  /** `0x0000000000000000000000000000000000000000` for the chain's native coin */
  address: addressSchema,
  decimals: integer("the token's decimals", 0, 77),
  /** the token's full name shown to payers beside its symbol, e.g. "Tether USD" */
  name: text('the token\'s full name such as "Tether USD"').optional(),
  /** wei per base unit of the token (decimal string): lets the sweeper weigh gas against a token's value */
  priceWei: baseUnitsSchema.optional(),
};
export const tokenConfigSchema = z.strictObject(tokenShape);

export const chainShape = {
  chainId: integer("a chain id", 1),
  /** short code used in the pay URL (`chainCode`), e.g. "eth", "polygon", "local" */
  code: text('a short lowercase code such as "polygon"', /^[a-z0-9][a-z0-9-]{0,31}$/),
  name: text("the chain's display name"),
  /** the PaymentVault (deposit-address factory) on this chain; or `deployment` */
  vault: addressSchema.optional(),
  /** a `deployments/<chainId>.json` written by scripts/deploy.ts (relative to the config file): supplies `vault` and `startBlock` */
  deployment: text("the path of a deployments/<chainId>.json file").optional(),
  /** blocks a transfer must be buried under before it counts (seed 003: Ethereum 12, Polygon 3, BSC 3, local 1) */
  confirmations: integer("a number of blocks", 1, 10_000).optional(),
  /** "depth" counts `confirmations` (default); "finalized" waits for the RPC's finalized block */
  finality: z.enum(["depth", "finalized"], { error: expected('"depth" or "finalized"') }).default("depth"),
  tokens: z.array(tokenConfigSchema, { error: expected("a list of tokens") }).min(1, {
    error: 'expected at least one token, e.g. { "symbol": "ETH", "address": "0x0000000000000000000000000000000000000000", "decimals": 18 }',
  }),
  /** JSON-RPC endpoint the follower, the money movers and the doctor use (without it the chain is not followed) */
  rpcUrl: urlSchema(["http:", "https:"], "https://rpc.example/v1/KEY").optional(),
  /** optional WebSocket endpoint: new heads wake the follower at once instead of at the next poll */
  wsUrl: urlSchema(["ws:", "wss:"], "wss://rpc.example/ws/KEY").optional(),
  /** first block to index on a fresh database (default: the vault's deployment block, else the head) */
  startBlock: integer("a block number", 0).optional(),
  /** the operator's native balance under which the doctor warns, wei (default 0.01 of the native coin) */
  operatorMinBalanceWei: baseUnitsSchema.default("10000000000000000"),
  /** a head that has not moved for this long makes /health answer 503 (default 30 s) */
  headStallSeconds: seconds(1).default(30),
  /** block explorer base URL: the pages link a transaction to `<explorerUrl>/tx/<hash>` */
  explorerUrl: urlSchema(["http:", "https:"], "https://etherscan.io")
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  /** a test network: the merchant console shows it in its sandbox view (well-known test chain ids are known) */
  testnet: bool.optional(),
  /** price feeds for fiat-priced orders (src/pricing/config.ts); checked against `tokens` when the config resolves */
  pricing: chainPricingSchema.optional(),
  /**
   * How the follower finds native coin a contract sends to a deposit address (an internal transfer): a trace
   * method the RPC serves (`npm run doctor` tells which), or "off" (default): open native orders and recent
   * recharge addresses are then checked by balance every block.
   */
  trace: z
    .enum(["debug_traceBlock", "trace_block", "debug_traceTransaction", "off"], {
      error: expected('one of "debug_traceBlock", "trace_block", "debug_traceTransaction", "off"'),
    })
    .optional(),
  /**
   * The balance safety net (chain/balances.ts): `hot` (check hot addresses every block; default when `trace` is
   * off), `hotLimit` (1000), `recentSeconds` (86400), `cycleMs` (60000: every handed-out address in slices;
   * 0 = off), `cycleBatch` (200).
   */
  balancePoll: z
    .strictObject({
      hot: bool.optional(),
      hotLimit: integer("a number of addresses", 1).optional(),
      recentSeconds: seconds(0).optional(),
      cycleMs: integer("a number of milliseconds (0 = off)", 0).optional(),
      cycleBatch: integer("a number of addresses", 1).optional(),
    })
    .optional(),
};
export const chainConfigSchema = z.strictObject(chainShape);

/** How often and how strictly the doctor's checks run inside the gateway (they feed /health). */
export const doctorSettingsSchema = z.strictObject({
  /** RPC, chain id and head checks (default every 5 s) */
  livenessIntervalSeconds: seconds(1).default(5),
  /** vault, roles, balance, merchants, tokens (default every 60 s) */
  setupIntervalSeconds: seconds(1).default(60),
  /** each RPC call of a check (default 5,000 ms) */
  rpcTimeoutMs: milliseconds(100).default(5_000),
  /** the oldest due webhook older than this is a warning (default 300 s) */
  webhookLagWarnSeconds: seconds(1).default(300),
});

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Every field the config file may hold (the environment may override some, see `loadConfig`). No secrets. */
export const settingsShape = {
  chains: z
    .array(chainConfigSchema, { error: expected("a list of chains") })
    .min(1, { error: "expected at least one chain: see config/gateway.example.json (or run `npm run local` for a local chain)" }),
  /** PGlite data directory (relative to the config file; default .data/pglite); "memory://" for a throwaway database */
  pgliteDir: text("a directory").default(".data/pglite"),
  /** the master key file used when GATEWAY_MASTER_KEY is unset (relative to the config file; default .data/master.key) */
  masterKeyFile: text("a file path").default(".data/master.key"),
  /** base of the hosted payment page (default: http://HOST:PORT/pay); the pay URL adds `?accessSign=&…` */
  payPageUrl: urlSchema(["http:", "https:"], "https://pay.example.com/pay").optional(),
  host: text("a host name or address").default("127.0.0.1"),
  port: integer("a port number", 0, 65_535).default(8080),
  logLevel: z.enum(LOG_LEVELS, { error: expected(`one of ${LOG_LEVELS.join(", ")}`) }).default("info"),
  /** payment order lifetime when the request names none */
  orderTtlSeconds: seconds().default(30 * 60),
  /** the longest lifetime a request may name */
  maxOrderTtlSeconds: seconds().default(7 * 24 * 3600),
  /** the shortest lifetime a request may name (default 60 s; the demo shortens it to show expiry) */
  minOrderTtlSeconds: seconds().default(60),
  /** how long a released payment address rests before another order may lease it */
  poolCooldownSeconds: seconds(0).default(24 * 3600),
  /** lifetime of a payout approval: the EIP-712 `deadline` is set this far after the refund/withdrawal is created */
  payoutDeadlineSeconds: seconds().default(3 * 24 * 3600),
  /** requests per second per API key, per process (burst: twice that) */
  rateLimitPerSecond: integer("a number of requests per second", 1).default(500),
  /** how far X-PAY-TIMESTAMP (unix seconds) may be from the server clock (default 60 s, Pay Protocol's rule) */
  authWindowMs: milliseconds(1_000).default(60 * 1000),
  /** webhook delays after each failed attempt, ms (default: 15 s, 30 s, 3 min, 5 min, 10 min, … about two days) */
  webhookRetryScheduleMs: z
    .array(milliseconds(), { error: expected("a list of delays in milliseconds") })
    .min(1)
    .optional(),
  /** per webhook attempt (default 10 s) */
  webhookTimeoutMs: milliseconds().optional(),
  /** how long a claimed webhook is hidden from other workers, so a crashed worker's claim expires (default timeout + 30 s) */
  webhookLeaseMs: milliseconds().optional(),
  /** head polling of the followers, ms (default 2,000) */
  pollIntervalMs: milliseconds(10).optional(),
  /** a sweep may cost at most this share of the value it moves, basis points (default 500 = 5%) */
  sweepMaxGasShareBps: integer("basis points", 0, 10_000).optional(),
  /**
   * Deliver webhooks to notify URLs that resolve to loopback, private, link-local, CGNAT, multicast or
   * unspecified addresses (default false: such targets are refused, so a merchant cannot aim the gateway
   * at its own network). Tests and the local stack set it.
   */
  allowPrivateWebhookTargets: bool.default(false),
  doctor: doctorSettingsSchema.default(doctorSettingsSchema.parse({})),
};

/** The secrets: from the environment only, never from the file. */
export const secretsShape = {
  /** 32 bytes: encrypts stored secrets and derives the accessSign key */
  masterKey: z
    .instanceof(Buffer, { error: "expected the 32-byte master key" })
    .refine((b) => b.length === 32, { error: "expected a 32-byte master key" }),
  /**
   * 0x-hex private key of the operator: relays sweeps and merchant-signed payouts (it holds the vault's
   * OPERATOR role, never merchant funds). From OPERATOR_PRIVATE_KEY or OPERATOR_KEY_FILE.
   */
  operatorKey: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, { error: "OPERATOR_PRIVATE_KEY must be 32 bytes of hex (64 characters, 0x optional)" })
    .transform((k) => k as `0x${string}`)
    .optional(),
  /** PostgreSQL server; when absent PGlite is used */
  databaseUrl: urlSchema(["postgres:", "postgresql:"], "postgres://user@127.0.0.1:5432/gateway").optional(),
};

export const settingsSchema = z.strictObject(settingsShape);
export const gatewayConfigSchema = z.strictObject({ ...settingsShape, ...secretsShape });

/** What a caller (a test, the demo) passes to `resolveConfig`: every field with a default may be left out. */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema> & { configFile?: string };
export type TokenConfig = z.output<typeof tokenConfigSchema>;
export type DoctorSettings = z.output<typeof doctorSettingsSchema>;
export type ChainConfig = Omit<z.output<typeof chainConfigSchema>, "vault" | "confirmations"> & {
  /** the vault, from `vault` or the deployment file; never the zero address */
  vault: Address;
  confirmations: number;
};
export type GatewayConfig = Omit<z.output<typeof gatewayConfigSchema>, "chains" | "payPageUrl"> & {
  chains: ChainConfig[];
  payPageUrl: string;
  /** the absolute path of the file this config was read from, when it was */
  configFile?: string;
};

/** The access-sign key, derived from the master key so one secret is enough. */
export function accessKeyOf(config: Pick<GatewayConfig, "masterKey">): Buffer {
  return createHmac("sha256", config.masterKey).update("gateway/access-sign").digest();
}

// ---------------------------------------------------------------------------------------------- error lines

type Issue = { path: (string | number)[]; message: string };

/** `chains[0].confirmation` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "(top level)";
}

/** The keys an object schema at `path` accepts, to suggest the nearest to a misspelt one. */
/** The parts of a zod 4 schema the walk reads. */
type SchemaNode = {
  shape?: Record<string, SchemaNode>;
  element?: SchemaNode;
  unwrap?: () => SchemaNode;
  _zod?: { def?: { type?: string; innerType?: SchemaNode; in?: SchemaNode } };
};
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: SchemaNode | undefined = schema as unknown as SchemaNode;
  for (const p of path) {
    s = unwrap(s);
    if (typeof p === "number") s = s?.element;
    else s = s?.shape?.[p as string];
  }
  s = unwrap(s);
  return s?.shape ? Object.keys(s.shape) : [];
}
function unwrap(s: SchemaNode | undefined): SchemaNode | undefined {
  while (s && !s.shape && !s.element && typeof s.unwrap === "function") s = s.unwrap();
  while (s && s._zod?.def?.type === "default") s = s._zod.def.innerType;
  while (s && s._zod?.def?.type === "pipe") s = s._zod.def.in;
  return s;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

/** The known key nearest to `key`, if it is near enough to be a typo. */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const score = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key.toLowerCase(), k.toLowerCase());
    if (score < bestScore) [best, bestScore] = [k, score];
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** One line per problem: `chains[0].confirmation: unknown key; did you mean "confirmations"?`. */
function issuesOf(error: z.ZodError, schema: z.ZodType): Issue[] {
  const out: Issue[] = [];
  for (const i of error.issues) {
    const path = i.path.map((p) => (typeof p === "symbol" ? String(p) : p));
    if (i.code === "unrecognized_keys") {
      const known = knownKeysAt(schema, path);
      for (const key of i.keys) {
        const near = didYouMean(key, known);
        out.push({
          path: [...path, key],
          message: `unknown key${near ? `; did you mean "${near}"?` : `; known keys here: ${known.join(", ")}`}`,
        });
      }
    } else if (i.code === "invalid_type" && /received undefined$/.test(i.message)) {
      out.push({ path, message: "required" });
    } else out.push({ path, message: i.message });
  }
  return out;
}

function configError(where: string, issues: Issue[], envNames: Record<string, string> = {}): ConfigError {
  const lines = issues.map((i) => {
    const env = typeof i.path[0] === "string" && i.path.length === 1 ? envNames[i.path[0]] : undefined;
    return `  ${env ? `${env} (environment)` : formatPath(i.path)}: ${i.message}`;
  });
  return new ConfigError(`${where}: ${issues.length === 1 ? "1 problem" : `${issues.length} problems`}\n${lines.join("\n")}`);
}

// ---------------------------------------------------------------------------------------------- resolve

/** Keys starting with "//" are comments (config/gateway.example.json uses them). */
function dropComments(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropComments);
  if (v && typeof v === "object" && !Buffer.isBuffer(v)) {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !k.startsWith("//"))
        .map(([k, x]) => [k, dropComments(x)]),
    );
  }
  return v;
}

const deploymentFileSchema = z.looseObject({
  chainId: z.union([z.number().int(), z.string().regex(/^[0-9]+$/)]).optional(),
  vault: addressSchema,
  blockNumber: z.number().int().nonnegative().nullable().optional(),
});

/** `http://HOST:PORT/pay`, with a wildcard host shown as localhost. */
function defaultPayPageUrl(host: string, port: number): string {
  const h = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return `http://${h}:${port}/pay`;
}

const resolvePath = (baseDir: string, p: string) => (p.includes("://") || isAbsolute(p) ? p : resolve(baseDir, p));

/**
 * Validates a config against the schema and completes it: defaults, the vault and start block from each
 * chain's deployment file, `payPageUrl` from host and port, relative paths from `baseDir` (the config file's
 * folder; default the working directory). Throws a ConfigError listing every problem, one line each.
 */
export function resolveConfig(
  input: GatewayConfigInput,
  { baseDir = process.cwd(), where = "config" }: { baseDir?: string; where?: string } = {},
): GatewayConfig {
  const { configFile, ...raw } = input;
  const parsed = gatewayConfigSchema.safeParse(dropComments(raw));
  if (!parsed.success) throw configError(where, issuesOf(parsed.error, gatewayConfigSchema));
  const c = parsed.data;
  const issues: Issue[] = [];
  const seenIds = new Set<number>();
  const seenCodes = new Set<string>();
  const chains: ChainConfig[] = [];
  c.chains.forEach((chain, i) => {
    const at = (...p: (string | number)[]) => ["chains", i, ...p];
    if (seenIds.has(chain.chainId)) issues.push({ path: at("chainId"), message: `chain ${chain.chainId} is configured twice` });
    if (seenCodes.has(chain.code)) issues.push({ path: at("code"), message: `code "${chain.code}" is used by two chains` });
    seenIds.add(chain.chainId);
    seenCodes.add(chain.code);
    let { vault, startBlock } = chain;
    let deployment = chain.deployment;
    if (deployment) {
      deployment = resolvePath(baseDir, deployment);
      let d: z.output<typeof deploymentFileSchema> | undefined;
      try {
        const r = deploymentFileSchema.safeParse(JSON.parse(readFileSync(deployment, "utf8")));
        if (r.success) d = r.data;
        else
          issues.push({
            path: at("deployment"),
            message: `${deployment} is not a deployment file (${issuesOf(r.error, deploymentFileSchema)
              .map((x) => `${formatPath(x.path)}: ${x.message}`)
              .join("; ")})`,
          });
      } catch (e) {
        issues.push({
          path: at("deployment"),
          message: `cannot read ${deployment} (${(e as Error).message.split("\n")[0]}); deploy with \`npm run deploy -- --network <name>\`, which writes deployments/<chainId>.json`,
        });
      }
      if (d && d.chainId !== undefined && Number(d.chainId) !== chain.chainId) {
        issues.push({ path: at("deployment"), message: `${deployment} is for chain ${d.chainId}, not ${chain.chainId}` });
      } else if (d) {
        if (vault && vault !== d.vault)
          issues.push({ path: at("vault"), message: `${vault} differs from the deployment file's vault ${d.vault}; keep one of the two` });
        vault ??= d.vault;
        startBlock ??= d.blockNumber ?? undefined;
      }
    }
    if (!vault && !chain.deployment) {
      issues.push({
        path: at("vault"),
        message:
          'required: set "vault" (the PaymentVault address) or "deployment" (the deployments/<chainId>.json file `npm run deploy` wrote)',
      });
    } else if (vault === NATIVE_TOKEN) {
      issues.push({
        path: at("vault"),
        message:
          'the zero address is not a vault: deploy one (`npm run deploy -- --network <name>`) and set "deployment" to the file it writes',
      });
    }
    const confirmations = chain.confirmations ?? (chain.finality === "finalized" ? 1 : undefined);
    if (confirmations === undefined) {
      issues.push({
        path: at("confirmations"),
        message:
          'required: the blocks a transfer must be buried under (e.g. 12 on Ethereum, 3 on Polygon, 1 locally), or "finality": "finalized"',
      });
    }
    const symbols = new Set<string>();
    const addresses = new Set<string>();
    chain.tokens.forEach((t, j) => {
      if (symbols.has(t.symbol.toUpperCase()))
        issues.push({ path: at("tokens", j, "symbol"), message: `symbol ${t.symbol} is listed twice on chain ${chain.chainId}` });
      if (addresses.has(t.address))
        issues.push({ path: at("tokens", j, "address"), message: `${t.address} is listed twice on chain ${chain.chainId}` });
      symbols.add(t.symbol.toUpperCase());
      addresses.add(t.address);
    });
    if (chain.pricing) {
      // the feeds are read over the chain's RPC: without one, every fiat create would be refused
      if (!chain.rpcUrl)
        issues.push({ path: at("pricing"), message: 'price feeds are read over the chain\'s RPC: give "rpcUrl" too, or remove "pricing"' });
      try {
        parseChainPricing(chain.pricing, chain);
      } catch (e) {
        for (const line of (e as Error).message.split("\n").slice(1)) issues.push({ path: at("pricing"), message: line.trim() });
      }
    }
    chains.push({
      ...chain,
      ...(deployment ? { deployment } : {}),
      vault: vault ?? NATIVE_TOKEN,
      confirmations: confirmations ?? 1,
      ...(startBlock !== undefined ? { startBlock } : {}),
    });
  });
  if (c.minOrderTtlSeconds > c.orderTtlSeconds)
    issues.push({ path: ["minOrderTtlSeconds"], message: `${c.minOrderTtlSeconds} is above orderTtlSeconds (${c.orderTtlSeconds})` });
  if (c.orderTtlSeconds > c.maxOrderTtlSeconds)
    issues.push({ path: ["orderTtlSeconds"], message: `${c.orderTtlSeconds} is above maxOrderTtlSeconds (${c.maxOrderTtlSeconds})` });
  if (issues.length) throw configError(where, issues);
  return {
    ...c,
    chains,
    pgliteDir: resolvePath(baseDir, c.pgliteDir),
    masterKeyFile: resolvePath(baseDir, c.masterKeyFile),
    payPageUrl: c.payPageUrl ?? defaultPayPageUrl(c.host, c.port),
    ...(configFile ? { configFile } : {}),
  };
}

// ---------------------------------------------------------------------------------------------- load

/** Environment variables that override a file field (their values are validated by the same schema). */
const ENV_FIELDS = {
  PGLITE_DIR: "pgliteDir",
  PAY_PAGE_URL: "payPageUrl",
  HOST: "host",
  PORT: "port",
  LOG_LEVEL: "logLevel",
  ALLOW_PRIVATE_WEBHOOK_TARGETS: "allowPrivateWebhookTargets",
  DATABASE_URL: "databaseUrl",
} as const satisfies Record<string, keyof typeof settingsShape | keyof typeof secretsShape>;

const SECRET_ENV = { masterKey: "GATEWAY_MASTER_KEY", operatorKey: "OPERATOR_PRIVATE_KEY", databaseUrl: "DATABASE_URL" } as const;

export type LoadConfigOptions = {
  /**
   * Create the master key file when it does not exist (only `npm start` does, on a first start); everything
   * else refuses, so a command run without the gateway's environment never makes a second key.
   */
  createMasterKey?: boolean;
};

/**
 * Reads the configuration: the JSON file named by GATEWAY_CONFIG (required: there is no implicit chain),
 * then the environment: DATABASE_URL, PGLITE_DIR, PAY_PAGE_URL, HOST, PORT, LOG_LEVEL,
 * ALLOW_PRIVATE_WEBHOOK_TARGETS=1, the master key (GATEWAY_MASTER_KEY as 64 hex, else the file
 * GATEWAY_MASTER_KEY_FILE or the config's `masterKeyFile`) and the operator key (OPERATOR_PRIVATE_KEY or
 * OPERATOR_KEY_FILE). Relative paths in the file resolve from the file's folder; paths in the environment
 * from the working directory. Throws a ConfigError that lists every problem with what to write instead.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): GatewayConfig {
  if (!env.GATEWAY_CONFIG) {
    throw new ConfigError(
      "GATEWAY_CONFIG is not set: the gateway needs a config file naming its chains. Copy config/gateway.example.json to gateway.json, " +
        "keep the chains you deployed to, and run GATEWAY_CONFIG=gateway.json npm start (or `npm run local` for a local chain)",
    );
  }
  const file = resolve(env.GATEWAY_CONFIG);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message.split("\n")[0];
    throw new ConfigError(`GATEWAY_CONFIG=${env.GATEWAY_CONFIG}: ${why}`);
  }
  if (!json || typeof json !== "object" || Array.isArray(json))
    throw new ConfigError(`${file}: expected a JSON object like config/gateway.example.json`);
  for (const secret of ["masterKey", "operatorKey", "databaseUrl"] as const) {
    if (secret in json)
      throw new ConfigError(`${file}: "${secret}" is a secret and does not belong in the config file; set ${SECRET_ENV[secret]} instead`);
  }
  const envNames: Record<string, string> = {};
  const fromEnv: Record<string, unknown> = {};
  const envIssues: Issue[] = [];
  for (const [name, field] of Object.entries(ENV_FIELDS)) {
    const v = env[name];
    if (v === undefined || v === "") continue;
    envNames[field] = name;
    if (field === "port") fromEnv[field] = /^[0-9]+$/.test(v) ? Number(v) : v;
    else if (field === "allowPrivateWebhookTargets") {
      if (v !== "1" && v !== "0" && v !== "true" && v !== "false")
        envIssues.push({ path: [field], message: `expected 1 or 0, got ${shown(v)}` });
      fromEnv[field] = v === "1" || v === "true";
    } else fromEnv[field] = field === "pgliteDir" ? resolvePath(process.cwd(), v) : v;
  }
  if (envIssues.length) throw configError(file, envIssues, envNames);
  const baseDir = dirname(file);
  const masterKeyFile = env.GATEWAY_MASTER_KEY_FILE
    ? resolve(env.GATEWAY_MASTER_KEY_FILE)
    : resolvePath(
        baseDir,
        typeof (json as { masterKeyFile?: unknown }).masterKeyFile === "string"
          ? (json as { masterKeyFile: string }).masterKeyFile
          : ".data/master.key",
      );
  const input = {
    ...(json as Record<string, unknown>),
    ...fromEnv,
    masterKeyFile,
    ...loadOperatorKey(env),
    masterKey: loadMasterKey(env, masterKeyFile, options.createMasterKey ?? false),
    configFile: file,
  } as GatewayConfigInput;
  try {
    return resolveConfig(input, { baseDir, where: file });
  } catch (e) {
    if (!(e instanceof ConfigError) || !Object.keys(envNames).length) throw e;
    // name the environment variable rather than the field where the value came from there
    let msg = e.message;
    for (const [field, name] of Object.entries(envNames)) msg = msg.replace(new RegExp(`^  ${field}:`, "m"), `  ${name} (environment):`);
    throw new ConfigError(msg);
  }
}

function loadOperatorKey(env: NodeJS.ProcessEnv): { operatorKey?: string } {
  let raw = env.OPERATOR_PRIVATE_KEY;
  if (raw === undefined && env.OPERATOR_KEY_FILE) {
    try {
      raw = readFileSync(env.OPERATOR_KEY_FILE, "utf8").trim();
    } catch (e) {
      throw new ConfigError(`OPERATOR_KEY_FILE=${env.OPERATOR_KEY_FILE}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  if (raw === undefined || raw === "") return {};
  const hex = raw.startsWith("0x") ? raw : `0x${raw}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new ConfigError("OPERATOR_PRIVATE_KEY must be 32 bytes of hex (64 characters, 0x optional)");
  return { operatorKey: hex };
}

function loadMasterKey(env: NodeJS.ProcessEnv, path: string, create: boolean): Buffer {
  const hex = env.GATEWAY_MASTER_KEY;
  if (hex) {
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new ConfigError("GATEWAY_MASTER_KEY must be 64 hex characters (32 bytes)");
    return Buffer.from(hex, "hex");
  }
  if (!existsSync(path)) {
    if (!create) {
      throw new ConfigError(
        `no master key: GATEWAY_MASTER_KEY is unset and ${path} does not exist. Run this with the gateway's environment ` +
          "(GATEWAY_CONFIG and GATEWAY_MASTER_KEY or GATEWAY_MASTER_KEY_FILE as `npm start` has them); `npm start` creates the key on its first start",
      );
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, randomBytes(32).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  }
  const key = readFileSync(path, "utf8").trim();
  if (!/^[0-9a-fA-F]{64}$/.test(key)) throw new ConfigError(`${path} must hold 64 hex characters`);
  return Buffer.from(key, "hex");
}
