import { createPublicClient, formatEther, getAddress, http, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ChainConfig, GatewayConfig } from "../config.js";
import { NATIVE_TOKEN } from "../config.js";
import { createSecretBox } from "../crypto/secretBox.js";
import { QuoteError } from "../pricing/errors.js";
import { createFeedReader } from "../pricing/feeds.js";
import { checkRound, createQuoter } from "../pricing/quoter.js";
import type { Queryable } from "../store/db.js";
import { outboxBacklog, outboxBacklogByMerchant } from "../store/webhooks.js";
import type { Finding } from "./findings.js";
import { VAULT_ADMIN_ABI, VAULT_ROLES } from "./vaultAbi.js";

/** The command that fixes a chain-side finding (`npm run admin -- …`, see cli/admin.ts). */
export const adminCommand = (args: string) => `npm run admin -- ${args}`;

const firstLine = (e: unknown) => ((e as { shortMessage?: string }).shortMessage ?? (e as Error).message ?? String(e)).split("\n")[0]!;

/** One RPC client per chain for the checks: no retries and a short timeout, so a silent RPC shows at once. */
export function doctorClient(chain: ChainConfig, timeoutMs: number): PublicClient {
  return createPublicClient({
    transport: http(chain.rpcUrl!, { timeout: timeoutMs, retryCount: 0, batch: { wait: 0 } }),
    cacheTime: 0,
  }) as PublicClient;
}

// ---------------------------------------------------------------------------------------------- store

/** The store answers, and the master key opens what it sealed (a wrong key would make every secret unreadable). */
export async function checkStore(db: Queryable, config: Pick<GatewayConfig, "masterKey">): Promise<Finding[]> {
  let row: { id: string; webhook_secret_enc: Uint8Array } | undefined;
  try {
    [row] = await db.query<{ id: string; webhook_secret_enc: Uint8Array }>(
      "SELECT id, webhook_secret_enc FROM merchants ORDER BY id LIMIT 1",
    );
  } catch (e) {
    return [
      {
        check: "store",
        status: "fail",
        blocking: true,
        message: `the database does not answer: ${firstLine(e)}`,
        fix: "check DATABASE_URL (or PGLITE_DIR) and that the database server runs",
      },
    ];
  }
  const findings: Finding[] = [{ check: "store", status: "ok", blocking: true, message: "the database answers" }];
  if (row) {
    try {
      createSecretBox(config.masterKey).open(Buffer.from(row.webhook_secret_enc));
      findings.push({ check: "master-key", status: "ok", blocking: true, message: "the master key opens the stored secrets" });
    } catch {
      findings.push({
        check: "master-key",
        status: "fail",
        blocking: true,
        message: `the master key does not open the secrets the store sealed (merchant ${row.id}): it is not the key this store was created with`,
        fix: "set GATEWAY_MASTER_KEY (or GATEWAY_MASTER_KEY_FILE) to the key backed up with this database",
      });
    }
  }
  return findings;
}

/** Webhooks waiting past their time, overall and per merchant. */
export async function checkWebhookBacklog(db: Queryable, lagWarnSeconds: number): Promise<Finding[]> {
  const fix =
    "look at the failing attempts (GET /api/mer/webhook/attempts shows each HTTP status); the merchant's notify URL must answer 2xx";
  try {
    const all = await outboxBacklog(db);
    const findings: Finding[] = [];
    const late = all.oldestDueMs > lagWarnSeconds * 1000;
    findings.push({
      check: "webhook-backlog",
      status: late ? "warn" : "ok",
      blocking: false,
      message: `${all.due} webhook(s) due${all.due ? `, the oldest ${Math.round(all.oldestDueMs / 1000)} s overdue` : ""}`,
      ...(late
        ? {
            fix: "the notifier is behind or not running: check the gateway's logs for `part: notifier` and that a gateway process runs its notifier",
          }
        : {}),
    });
    for (const m of await outboxBacklogByMerchant(db)) {
      if (m.oldestDueMs <= lagWarnSeconds * 1000) continue;
      findings.push({
        check: "webhook-backlog",
        status: "warn",
        blocking: false,
        merchantId: m.merchantId,
        message: `${m.due} webhook(s) to merchant ${m.merchantId} are waiting, the oldest ${Math.round(m.oldestDueMs / 1000)} s overdue`,
        fix,
      });
    }
    return findings;
  } catch (e) {
    return [
      {
        check: "webhook-backlog",
        status: "warn",
        blocking: false,
        message: `cannot read the webhook backlog: ${firstLine(e)}`,
        fix: "see the store finding",
      },
    ];
  }
}

// ---------------------------------------------------------------------------------------------- chain liveness

/** Per chain, what the liveness checks remember between runs: the last head and when it last moved. */
export type HeadState = { head: bigint; movedAt: number; answeredAt: number };

/**
 * RPC reachable and on the configured chain id, and the head moving. A head (or an RPC) not seen moving
 * for `headStallSeconds` is a blocking failure; the first run of a process has no history, so it checks only
 * that the RPC answers.
 */
export async function checkChainLiveness(
  chain: ChainConfig,
  client: PublicClient,
  state: Map<number, HeadState>,
  now = Date.now(),
): Promise<{ findings: Finding[]; reachable: boolean }> {
  const base = { chainId: chain.chainId, blocking: true };
  let chainId: number;
  let head: bigint;
  try {
    [chainId, head] = await Promise.all([client.getChainId(), client.getBlockNumber({ cacheTime: 0 })]);
  } catch (e) {
    const seen = state.get(chain.chainId);
    const silentFor = seen ? Math.round((now - seen.answeredAt) / 1000) : undefined;
    return {
      reachable: false,
      findings: [
        {
          ...base,
          check: "rpc",
          status: "fail",
          message: `the RPC ${redactUrl(chain.rpcUrl!)} does not answer${silentFor !== undefined ? ` (last answer ${silentFor} s ago)` : ""}: ${firstLine(e)}`,
          fix: `check chains[].rpcUrl of chain ${chain.chainId} in the config and that the node or provider is up`,
        },
      ],
    };
  }
  const findings: Finding[] = [{ ...base, check: "rpc", status: "ok", message: `the RPC answers (head ${head})` }];
  if (chainId !== chain.chainId) {
    findings.push({
      ...base,
      check: "chain-id",
      status: "fail",
      message: `the RPC serves chain ${chainId}, but the config says ${chain.chainId}: deposit addresses and confirmations would be for the wrong chain`,
      fix: `point chains[].rpcUrl of "${chain.code}" at a chain ${chain.chainId} node, or correct its chainId`,
    });
    return { reachable: true, findings };
  }
  findings.push({ ...base, check: "chain-id", status: "ok", message: `chain id ${chainId}` });
  const prev = state.get(chain.chainId);
  if (!prev) {
    // a first look has no history: judge by the age of the latest block (a warning only, as a quiet dev chain mines on demand)
    const block = await client.getBlock({ blockNumber: head }).catch(() => undefined);
    const age = block ? Math.round(now / 1000 - Number(block.timestamp)) : undefined;
    if (age !== undefined && age > chain.headStallSeconds) {
      state.set(chain.chainId, { head, movedAt: now, answeredAt: now });
      findings.push({
        ...base,
        blocking: false,
        check: "head",
        status: "warn",
        message: `the latest block ${head} is ${age} s old (headStallSeconds = ${chain.headStallSeconds}): the node may be stalled or not mining`,
        fix: `check the node behind chains[].rpcUrl of chain ${chain.chainId} (a local hardhat node must mine on an interval: \`npm run local\` sets one)`,
      });
      return { reachable: true, findings };
    }
  }
  const moved = !prev || head !== prev.head;
  const next = { head, movedAt: moved ? now : prev!.movedAt, answeredAt: now };
  state.set(chain.chainId, next);
  const stillFor = (now - next.movedAt) / 1000;
  if (stillFor > chain.headStallSeconds) {
    findings.push({
      ...base,
      check: "head",
      status: "fail",
      message: `the head has stayed at block ${head} for ${Math.round(stillFor)} s (limit headStallSeconds = ${chain.headStallSeconds}): the node is stalled or not syncing`,
      fix: `check the node behind chains[].rpcUrl of chain ${chain.chainId} (a local hardhat node must mine on an interval: \`npm run local\` sets one), or raise headStallSeconds for a slow chain`,
    });
  } else {
    findings.push({ ...base, check: "head", status: "ok", message: `head ${head}, moved ${Math.round(stillFor)} s ago` });
  }
  return { reachable: true, findings };
}

/** An RPC URL without its key (path and query often hold one). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.length > 1 ? "/…" : ""}`;
  } catch {
    return "(invalid URL)";
  }
}

// ---------------------------------------------------------------------------------------------- chain setup

/** A contract at the vault address (without it no deposit can ever be swept). */
export async function checkVaultCode(chain: ChainConfig, client: PublicClient): Promise<Finding> {
  const code = await client.getCode({ address: chain.vault }).catch(() => undefined);
  if (!code || code === "0x") {
    return {
      chainId: chain.chainId,
      check: "vault-code",
      status: "fail",
      blocking: true,
      message: `no contract at the vault address ${chain.vault}${chain.deployment ? ` (from ${chain.deployment})` : ""} on chain ${chain.chainId}`,
      fix: `deploy it (\`npm run deploy -- --network <name>\` writes deployments/${chain.chainId}.json) and set chains[].deployment to that file, or correct chains[].vault`,
    };
  }
  return { chainId: chain.chainId, check: "vault-code", status: "ok", blocking: true, message: `vault ${chain.vault} has code` };
}

export type StoreMerchant = { id: string; feeBps: number; payoutSigner: string | null; payoutKeyMode: string };

export async function listStoreMerchants(db: Queryable): Promise<StoreMerchant[]> {
  const rows = await db.query<{ id: string; fee_bps: number; payout_signer: string | null; payout_key_mode: string }>(
    "SELECT id, fee_bps, payout_signer, payout_key_mode FROM merchants ORDER BY id",
  );
  return rows.map((r) => ({ id: r.id, feeBps: Number(r.fee_bps), payoutSigner: r.payout_signer, payoutKeyMode: r.payout_key_mode }));
}

/**
 * The chain's price feeds (`pricing`), read as a fiat create would read them: each priced token's USD price
 * (its feed, or its peg checked against its feed within the band) and each fiat currency's feed. A refused
 * answer (stale, zero, negative, off its peg, unreadable) is a warning: the API stays up, but fiat-priced
 * creates in that token or currency answer 50302 until the feed answers again. Empty without `pricing`.
 */
export async function checkPriceFeeds(chain: ChainConfig, client: PublicClient, now: () => number = Date.now): Promise<Finding[]> {
  const pricing = chain.pricing;
  if (!pricing) return [];
  const base = { chainId: chain.chainId, check: "price-feed" as const, blocking: false };
  const reader = createFeedReader({ client, blockCacheMs: 0 });
  const quoter = createQuoter({ chains: [{ chainId: chain.chainId, tokens: chain.tokens, pricing }], readerFor: () => reader, now });
  const refused = (what: string, e: unknown, token?: string): Finding => ({
    ...base,
    ...(token ? { token } : {}),
    status: "warn",
    message: `${what}: ${firstLine(e)}`,
    fix: `check the feed's address and heartbeatSeconds in chains[${chain.chainId}].pricing; fiat-priced orders in it are refused (50302) until it answers`,
  });
  const findings: Finding[] = [];
  for (const t of chain.tokens.filter((x) => pricing.tokens[x.symbol])) {
    try {
      const r = await quoter.rate({ chainId: chain.chainId, token: t.address, currency: "USD" });
      const feeds = r.sources
        .map((s) => `${s.pair} round ${s.roundId}, updated ${Math.max(0, Math.round(now() / 1000 - s.updatedAt))} s ago`)
        .join("; ");
      findings.push({
        ...base,
        token: t.address,
        status: "ok",
        message: `${t.symbol} is priced at ${r.rate} USD${r.pegged ? ` (pegged to ${r.pegged})` : ""}${feeds ? ` (${feeds})` : ""}`,
      });
    } catch (e) {
      if (!(e instanceof QuoteError)) throw e;
      findings.push(refused(`${t.symbol}/USD`, e, t.address));
    }
  }
  for (const [code, f] of Object.entries(pricing.fiat)) {
    try {
      const round = await reader.latest(f.feed.address);
      checkRound(round, `${code}/USD`, f.feed.heartbeatSeconds, now());
      findings.push({
        ...base,
        status: "ok",
        message: `${code}/USD answers (round ${round.roundId}, updated ${Math.max(0, Math.round(now() / 1000) - Number(round.updatedAt))} s ago)`,
      });
    } catch (e) {
      if (!(e instanceof QuoteError)) throw e;
      findings.push(refused(`${code}/USD`, e));
    }
  }
  return findings;
}

/**
 * What only the chain can do, checked against the config and the store: vault code, pause, the operator's
 * role and balance, each token on the allowlist, the price feeds, each merchant registered with the store's
 * signer and fee.
 * Returns the operator's balance for the metrics.
 */
export async function checkChainSetup(p: {
  chain: ChainConfig;
  client: PublicClient;
  operatorKey?: `0x${string}`;
  merchants: StoreMerchant[];
  /** merchant calls in flight at once (default 8) */
  concurrency?: number;
}): Promise<{ findings: Finding[]; operatorBalance?: bigint }> {
  const { chain, client } = p;
  const id = chain.chainId;
  const base = { chainId: id };
  const vault = chain.vault;
  const read = <T>(functionName: string, args: unknown[] = []) =>
    client.readContract({ address: vault, abi: VAULT_ADMIN_ABI, functionName: functionName as never, args: args as never }) as Promise<T>;
  const findings: Finding[] = [];

  const code = await checkVaultCode(chain, client);
  findings.push(code);
  if (code.status !== "ok") return { findings };

  try {
    const paused = await read<boolean>("paused");
    findings.push(
      paused
        ? {
            ...base,
            check: "vault-paused",
            status: "fail",
            blocking: false,
            message: "the vault is paused: sweeps, payouts and fee claims revert",
            fix: "a PAUSER_ROLE holder calls unpause() on the vault once the cause is dealt with",
          }
        : { ...base, check: "vault-paused", status: "ok", blocking: false, message: "the vault is not paused" },
    );
  } catch (e) {
    findings.push({
      ...base,
      check: "vault-paused",
      status: "warn",
      blocking: false,
      message: `cannot read paused(): ${firstLine(e)}`,
      fix: "check that chains[].vault is a PaymentVault",
    });
  }

  let operatorBalance: bigint | undefined;
  if (!p.operatorKey) {
    findings.push({
      ...base,
      check: "operator-key",
      status: "warn",
      blocking: false,
      message: "no operator key: this process does not sweep deposits or send payouts",
      fix: "set OPERATOR_PRIVATE_KEY (or OPERATOR_KEY_FILE) to the key holding the vault's OPERATOR_ROLE, unless another gateway process does this",
    });
  } else {
    const operator = privateKeyToAccount(p.operatorKey).address;
    const [hasRole, balance] = await Promise.all([
      read<boolean>("hasRole", [VAULT_ROLES.operator, operator]).catch(() => undefined),
      client.getBalance({ address: operator }).catch(() => undefined),
    ]);
    findings.push(
      hasRole
        ? { ...base, check: "operator-role", status: "ok", blocking: false, message: `operator ${operator} holds OPERATOR_ROLE` }
        : {
            ...base,
            check: "operator-role",
            status: "fail",
            blocking: false,
            message: `the operator ${operator} ${hasRole === false ? "does not hold" : "could not be checked for"} the vault's OPERATOR_ROLE: every sweep reverts`,
            fix:
              adminCommand(`grant-role --chain ${id} --role operator --account ${operator}`) +
              " (sent by a DEFAULT_ADMIN_ROLE holder; --calldata prints it for a multisig)",
          },
    );
    if (balance !== undefined) {
      operatorBalance = balance;
      const floor = BigInt(chain.operatorMinBalanceWei);
      const low = balance < floor;
      findings.push({
        ...base,
        check: "operator-balance",
        status: balance === 0n ? "fail" : low ? "warn" : "ok",
        blocking: false,
        message: `operator ${operator} holds ${formatEther(balance)} of the native coin${low ? ` (floor ${formatEther(floor)}: operatorMinBalanceWei)` : ""}`,
        ...(low ? { fix: `send at least ${formatEther(floor - balance)} of chain ${id}'s native coin to ${operator}` } : {}),
      });
    }
  }

  for (const t of chain.tokens) {
    const allowed = await read<boolean>("isTokenAllowed", [t.address]).catch(() => undefined);
    findings.push(
      allowed
        ? {
            ...base,
            check: "token-allowlisted",
            status: "ok",
            blocking: false,
            token: t.address,
            message: `${t.symbol} is on the vault's allowlist`,
          }
        : {
            ...base,
            check: "token-allowlisted",
            status: "fail",
            blocking: false,
            token: t.address,
            message: `${t.symbol} (${t.address === NATIVE_TOKEN ? "native coin" : t.address}) ${allowed === false ? "is not" : "could not be checked to be"} on the vault's allowlist: payments in it are never swept`,
            fix:
              adminCommand(`allow-token --chain ${id} --token ${t.symbol}`) +
              " (sent by a MERCHANT_ADMIN_ROLE holder; --calldata prints it for a multisig)",
          },
    );
  }

  findings.push(...(await checkPriceFeeds(chain, client)));

  const limit = p.concurrency ?? 8;
  const queue = [...p.merchants];
  const merchantFindings = new Map<string, Finding[]>();
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let m = queue.shift(); m; m = queue.shift()) merchantFindings.set(m.id, await checkMerchant(chain, m, read));
    }),
  );
  for (const m of p.merchants) findings.push(...merchantFindings.get(m.id)!);
  return { findings, operatorBalance };
}

async function checkMerchant(
  chain: ChainConfig,
  m: StoreMerchant,
  read: <T>(fn: string, args?: unknown[]) => Promise<T>,
): Promise<Finding[]> {
  const base = { chainId: chain.chainId, merchantId: m.id, blocking: false };
  let onChain: { signer: Address; feeBps: number };
  try {
    onChain = await read<{ signer: Address; feeBps: number }>("merchant", [BigInt(m.id)]);
  } catch (e) {
    return [
      {
        ...base,
        check: "merchant-registered",
        status: "warn",
        message: `cannot read merchant ${m.id} from the vault: ${firstLine(e)}`,
        fix: "see the rpc finding",
      },
    ];
  }
  if (/^0x0{40}$/i.test(onChain.signer)) {
    return [
      {
        ...base,
        check: "merchant-registered",
        status: "fail",
        message: `merchant ${m.id} is not registered in the vault on chain ${chain.chainId}: its deposits cannot be swept (VaultUnknownMerchant) and it cannot be paid out`,
        fix: m.payoutSigner
          ? adminCommand(`register-merchant --chain ${chain.chainId} --merchant ${m.id}`) +
            ` (registers signer ${getAddress(m.payoutSigner)} and fee ${m.feeBps} bps from the store)`
          : adminCommand(`register-merchant --chain ${chain.chainId} --merchant ${m.id} --signer 0x…`) +
            " (the store has no payout signer for it yet: name the merchant's payout address)",
      },
    ];
  }
  const out: Finding[] = [{ ...base, check: "merchant-registered", status: "ok", message: `merchant ${m.id} is registered` }];
  if (!m.payoutSigner || m.payoutSigner.toLowerCase() !== onChain.signer.toLowerCase()) {
    out.push({
      ...base,
      check: "merchant-signer",
      status: "fail",
      message: m.payoutSigner
        ? `the vault's payout signer of merchant ${m.id} is ${onChain.signer}, the store's is ${getAddress(m.payoutSigner)}: payouts the gateway prepares will be refused`
        : `the store has no payout signer for merchant ${m.id}; the vault has ${onChain.signer}`,
      fix: m.payoutSigner
        ? `the vault's signer ${onChain.signer} hands over with setMerchantSigner (${adminCommand(`set-signer --chain ${chain.chainId} --merchant ${m.id} --calldata`)} prints the call for that wallet)`
        : adminCommand(`register-merchant --chain ${chain.chainId} --merchant ${m.id} --signer ${onChain.signer}`) +
          " records the vault's signer in the store",
    });
  } else out.push({ ...base, check: "merchant-signer", status: "ok", message: `signer ${onChain.signer}` });
  if (Number(onChain.feeBps) !== m.feeBps) {
    out.push({
      ...base,
      check: "merchant-fee",
      status: "warn",
      message: `the vault charges merchant ${m.id} ${onChain.feeBps} bps, the store (and the merchant's settings) say ${m.feeBps} bps`,
      fix:
        adminCommand(`set-fee --chain ${chain.chainId} --merchant ${m.id}`) +
        ` (sets the vault's fee to the store's ${m.feeBps} bps; --fee-bps N changes both)`,
    });
  } else out.push({ ...base, check: "merchant-fee", status: "ok", message: `fee ${m.feeBps} bps` });
  return out;
}
