import {
  TRANSFER_TOPIC,
  NATIVE_TOKEN_LOWER,
  VAULT_EVENT_TOPICS,
  addressToTopic,
  decodeNativeLog,
  decodeTransfer,
  decodeTransferOut,
  decodeVaultEvent,
  vaultEventOutflow,
  type Deposit,
  type Outflow,
  type VaultEvent,
} from "./decode.js";
import { RpcCallError } from "./errors.js";
import type { RawBlock, RawLog, RawTransaction, Rpc } from "./rpc.js";
import type { TraceMode } from "./traces.js";
import type { WatchedSet } from "./watchedSet.js";

/**
 * What one chain's follower looks for, and the two steps shared by historical and realtime sync:
 * fetching the logs of a range (or one block) and turning logs and block transactions into rows.
 */
export type ChainSpec = {
  chainId: number;
  /** the PaymentVault, lowercase */
  vault: string;
  /** allow-listed ERC-20 tokens, lowercase (the native coin excluded) */
  tokens: string[];
  /** whether the native coin is accepted: scan block transactions and deposit-address receipt logs */
  native: boolean;
  /** how internal native transfers are read from traces (only with `native`); undefined: no traces */
  trace?: TraceMode;
};

/** Rows of a block or range: deposits to watched addresses, vault events, and what left watched addresses. */
export type Collected = { deposits: Deposit[]; vaultEvents: VaultEvent[]; outflows: Outflow[]; logCount: number };

export function createSpec(args: { chainId: number; vault: string; tokens: { address: string }[]; trace?: TraceMode | "off" }): ChainSpec {
  const tokens = args.tokens.map((t) => t.address.toLowerCase());
  const native = tokens.includes(NATIVE_TOKEN_LOWER);
  return {
    chainId: args.chainId,
    vault: args.vault.toLowerCase(),
    tokens: tokens.filter((t) => t !== NATIVE_TOKEN_LOWER),
    native,
    ...(native && args.trace && args.trace !== "off" ? { trace: args.trace } : {}),
  };
}

/**
 * The logs the follower needs, in two `eth_getLogs` calls: (1) emitted by the allow-listed tokens or the
 * vault with topic0 = Transfer or a vault event (recipients are filtered in memory: a million addresses do
 * not fit in a filter); (2) with topic0 = the vault's address, from any emitter: deposit-address receipts.
 */
export async function fetchLogs(
  rpc: Rpc,
  spec: ChainSpec,
  range: { fromBlock: bigint; toBlock: bigint } | { blockHash: string },
): Promise<RawLog[]> {
  const [main, receipts] = await Promise.all([
    rpc.getLogs({ ...range, address: [...spec.tokens, spec.vault], topics: [[TRANSFER_TOPIC, ...VAULT_EVENT_TOPICS]] }),
    spec.native ? rpc.getLogs({ ...range, topics: [addressToTopic(spec.vault)] }) : Promise.resolve([] as RawLog[]),
  ]);
  return receipts.length ? main.concat(receipts) : main;
}

/**
 * Turns logs into deposits to watched addresses, vault events and outflows (token transfers from watched
 * addresses, native sweeps and rescues); everything else is dropped.
 */
export function collectLogs(spec: ChainSpec, watched: WatchedSet, logs: RawLog[]): Collected {
  const deposits: Deposit[] = [];
  const vaultEvents: VaultEvent[] = [];
  const outflows: Outflow[] = [];
  const vaultTopic = addressToTopic(spec.vault);
  const tokens = new Set(spec.tokens);
  for (const log of logs) {
    if (log.removed) continue;
    // nodes send lowercase hex; lowercase only what does not match as sent
    let topic0 = log.topics[0];
    if (topic0 !== TRANSFER_TOPIC && topic0 !== vaultTopic) topic0 = topic0?.toLowerCase();
    let emitter = log.address;
    if (!tokens.has(emitter)) emitter = emitter.toLowerCase();
    if (topic0 === TRANSFER_TOPIC && tokens.has(emitter)) {
      if (log.topics.length === 3) {
        if (watched.hasTopic(log.topics[2]!)) {
          const d = decodeTransfer(spec.chainId, log);
          if (d) deposits.push(d);
        }
        if (watched.hasTopic(log.topics[1]!)) {
          const o = decodeTransferOut(spec.chainId, log);
          if (o) outflows.push(o);
        }
      }
    } else if (emitter === spec.vault) {
      const e = decodeVaultEvent(spec.chainId, log);
      if (e) {
        vaultEvents.push(e);
        const o = vaultEventOutflow(e, spec.vault);
        if (o) outflows.push(o);
      }
    } else if (topic0 === vaultTopic && watched.has(emitter)) {
      const d = decodeNativeLog(spec.chainId, log);
      if (d) deposits.push(d);
    }
  }
  return { deposits, vaultEvents, outflows, logCount: logs.length };
}

/**
 * Native-coin deposits seen as top-level transactions to watched addresses.
 *
 * Deduplication with the log view: a deposit address that has code emits LOG3(vault, sender, value) for
 * every payment, and that log (source `native_log`) is the deposit. The transaction view (source
 * `native_tx`, log index -1) is kept only for a successful transaction whose receipt carries no such log
 * from its recipient, i.e. a payment to an address that had no code yet. So each payment is one row,
 * whichever view sees it, and both views of one transaction are decided in the same ingest.
 * A failed transaction moved nothing and is ignored.
 */
export async function collectNativeTransactions(
  rpc: Rpc,
  spec: ChainSpec,
  watched: WatchedSet,
  blocks: RawBlock<RawTransaction>[],
  concurrency = 8,
): Promise<Deposit[]> {
  const candidates: { block: RawBlock<RawTransaction>; tx: RawTransaction }[] = [];
  for (const block of blocks) {
    for (const tx of block.transactions) {
      if (tx.to && tx.value !== "0x0" && tx.value !== "0x" && watched.has(tx.to)) candidates.push({ block, tx });
    }
  }
  const vaultTopic = addressToTopic(spec.vault);
  const out: (Deposit | undefined)[] = await mapLimit(candidates, concurrency, async ({ block, tx }) => {
    const receipt = await rpc.receipt(tx.hash);
    if (receipt.blockHash.toLowerCase() !== block.hash.toLowerCase()) {
      // the transaction moved to another block since the block was read: a reorg under our feet
      throw new RpcCallError(spec.chainId, "eth_getTransactionReceipt", `receipt of ${tx.hash} is not in block ${block.hash}`, {
        retryable: true,
      });
    }
    if (receipt.status !== "0x1") return undefined;
    const to = tx.to!.toLowerCase();
    const logged = receipt.logs.some((l) => l.address.toLowerCase() === to && l.topics[0]?.toLowerCase() === vaultTopic);
    if (logged) return undefined;
    return {
      chainId: spec.chainId,
      blockNumber: BigInt(block.number),
      blockHash: block.hash.toLowerCase(),
      txHash: tx.hash.toLowerCase(),
      logIndex: -1,
      token: NATIVE_TOKEN_LOWER,
      from: tx.from.toLowerCase(),
      to,
      amount: BigInt(tx.value),
      source: "native_tx" as const,
    };
  });
  return out.filter((d): d is Deposit => d !== undefined);
}

/** Runs `fn` over `items` with at most `limit` at a time, keeping the order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
  return out;
}
