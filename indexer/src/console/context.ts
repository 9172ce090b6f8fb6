import { createHmac } from "node:crypto";
import { createPublicClient, http, type PublicClient } from "viem";
import type { ChainConfig, GatewayConfig, TokenConfig } from "../config.js";
import { createSecretBox, type SecretBox } from "../crypto/secretBox.js";
import type { Db } from "../store/db.js";

/** One thing `doctor` found wrong for a merchant (the doctor module supplies these; the console only shows them). */
export type DoctorFinding = {
  severity: "error" | "warning" | "info";
  /** a stable code, e.g. "vault_signer_mismatch" */
  code: string;
  /** what is wrong, in the operator's words */
  message: string;
  /** how to fix it */
  fix?: string;
};

export type ConsoleParameters = {
  db: Db;
  config: GatewayConfig;
  /**
   * The console's public address (scheme and host the merchant's browser uses, plus /console). Sign-in
   * messages name its host and writes must come from its origin. Default: the origin of config.payPageUrl.
   */
  publicUrl?: string;
  /** wakes the webhook worker after a re-send (else it finds the event at its next poll) */
  wakeNotifier?: () => void;
  /** what `doctor` says is wrong for a merchant; without it the overview says the checks are not available */
  doctor?: (merchantId: bigint) => Promise<DoctorFinding[]>;
  /** sign-in attempts per client address per minute (default 20) */
  signinPerMinute?: number;
};

/** Test chains (the sandbox): a chain id listed here, or a chain configured with `"testnet": true`. */
const TEST_CHAIN_IDS = new Set([31337, 1337, 11155111, 17000, 560048, 80002, 84532, 421614, 11155420, 97, 43113, 4002, 5003]);

/** Block explorers of well-known chains; a chain configured with `"explorerUrl"` uses that one. */
const EXPLORERS: Record<number, string> = {
  1: "https://etherscan.io",
  10: "https://optimistic.etherscan.io",
  56: "https://bscscan.com",
  97: "https://testnet.bscscan.com",
  137: "https://polygonscan.com",
  8453: "https://basescan.org",
  42161: "https://arbiscan.io",
  43114: "https://snowtrace.io",
  80002: "https://amoy.polygonscan.com",
  84532: "https://sepolia.basescan.org",
  421614: "https://sepolia.arbiscan.io",
  11155111: "https://sepolia.etherscan.io",
  11155420: "https://sepolia-optimism.etherscan.io",
  17000: "https://holesky.etherscan.io",
};

/** Fields a chain may carry in the config file that only the console reads. */
type ConsoleChainExtras = { testnet?: boolean; explorerUrl?: string };

export type ConsoleChain = ChainConfig & { testnet: boolean; explorerUrl: string | null };

/** What the console's routes and views share, derived from the gateway's config once. */
export type ConsoleContext = {
  db: Db;
  config: GatewayConfig;
  box: SecretBox;
  /** e.g. https://pay.example.com/console */
  publicUrl: URL;
  /** the public URL's origin, which every write must come from */
  origin: string;
  /** the public URL's path, the prefix of every console route ("/console") */
  base: string;
  chains: ConsoleChain[];
  chain(chainId: number): ConsoleChain | undefined;
  token(chainId: number, address: string): TokenConfig | undefined;
  /** live (not test) chains exist, test chains exist */
  hasLive: boolean;
  hasTest: boolean;
  /** the chains one view shows: test chains in the sandbox, else the live ones */
  viewChains(sandbox: boolean): number[];
  /** an RPC client of a chain that has an rpcUrl */
  client(chainId: number): PublicClient | undefined;
  explorerTx(chainId: number, hash: string): string | null;
  explorerAddress(chainId: number, address: string): string | null;
  /** HMAC under a key derived from the master key (for values the console hands out and checks) */
  mac(purpose: string, value: string): string;
  wakeNotifier: () => void;
  doctor?: (merchantId: bigint) => Promise<DoctorFinding[]>;
  signinPerMinute: number;
};

export function createConsoleContext(p: ConsoleParameters): ConsoleContext {
  const { config } = p;
  const publicUrl = new URL(p.publicUrl ?? `${new URL(config.payPageUrl).origin}/console`);
  const base = publicUrl.pathname.replace(/\/+$/, "") || "/console";
  const chains: ConsoleChain[] = config.chains.map((c) => {
    const extra = c as ChainConfig & ConsoleChainExtras;
    return {
      ...c,
      testnet: extra.testnet ?? TEST_CHAIN_IDS.has(c.chainId),
      explorerUrl: (extra.explorerUrl ?? EXPLORERS[c.chainId] ?? null)?.replace(/\/+$/, "") ?? null,
    };
  });
  const byId = new Map(chains.map((c) => [c.chainId, c]));
  const clients = new Map<number, PublicClient>();
  const macKey = createHmac("sha256", config.masterKey).update("gateway/console").digest();
  const hasLive = chains.some((c) => !c.testnet);
  const hasTest = chains.some((c) => c.testnet);
  return {
    db: p.db,
    config,
    box: createSecretBox(config.masterKey),
    publicUrl,
    origin: publicUrl.origin,
    base,
    chains,
    chain: (id) => byId.get(id),
    token: (chainId, address) => byId.get(chainId)?.tokens.find((t) => t.address.toLowerCase() === address.toLowerCase()),
    hasLive,
    hasTest,
    // with no live chain the console shows the test chains, sandbox switch or not
    viewChains: (sandbox) => chains.filter((c) => (sandbox || !hasLive ? c.testnet : !c.testnet)).map((c) => c.chainId),
    client(chainId) {
      const c = byId.get(chainId);
      if (!c?.rpcUrl) return undefined;
      let client = clients.get(chainId);
      if (!client) {
        client = createPublicClient({ transport: http(c.rpcUrl, { timeout: 5_000, retryCount: 1 }), cacheTime: 0 }) as PublicClient;
        clients.set(chainId, client);
      }
      return client;
    },
    explorerTx: (chainId, hash) => {
      const e = byId.get(chainId)?.explorerUrl;
      return e ? `${e}/tx/${hash}` : null;
    },
    explorerAddress: (chainId, address) => {
      const e = byId.get(chainId)?.explorerUrl;
      return e ? `${e}/address/${address}` : null;
    },
    mac: (purpose, value) => createHmac("sha256", macKey).update(`${purpose}\n${value}`).digest("base64url"),
    wakeNotifier: p.wakeNotifier ?? (() => {}),
    doctor: p.doctor,
    signinPerMinute: p.signinPerMinute ?? 20,
  };
}
