import { collectLogs, collectNativeTransactions, fetchLogs, mapLimit, type ChainSpec, type Collected } from "./collect.js";
import { LogRangeTooLargeError, RpcCallError } from "./errors.js";
import { collectTraceDeposits } from "./traces.js";
import type { ChainLogger } from "./logger.js";
import type { RawBlock, RawLog, RawTransaction, Rpc } from "./rpc.js";
import type { WatchedSet } from "./watchedSet.js";
import type { BlockRef } from "../store/chain.js";

/**
 * Historical sync: from a block to a target below the confirmation depth, in `eth_getLogs` chunks whose
 * size adapts to the RPC (halved, or set to the range it names, when it refuses a range as too large; grown
 * when a chunk comes back fast). Block transactions are scanned for native transfers when the chain
 * accepts its native coin. The next chunk is fetched while the previous one is written.
 */
export type ChunkSizing = {
  /** first chunk, in blocks (default 100) */
  initial?: number;
  /** smallest chunk (default 1) */
  min?: number;
  /** largest chunk (default 10,000 blocks; 200 when blocks are scanned for native transfers, which holds whole blocks in memory) */
  max?: number;
  /** a chunk faster than this grows, one slower than 4x this shrinks (default 1,000 ms) */
  targetMs?: number;
};

export type HistoricalChunk = Collected & {
  fromBlock: bigint;
  toBlock: bigint;
  /** the chunk's last block: the anchor realtime sync links onto */
  last: BlockRef;
};

export type Progress = {
  chainId: number;
  fromBlock: bigint;
  toBlock: bigint;
  /** last block done */
  block: bigint;
  blocksPerSecond: number;
  logsPerSecond: number;
  etaSeconds: number;
  chunkSize: number;
};

export type HistoricalSyncParameters = {
  rpc: Rpc;
  spec: ChainSpec;
  watched: WatchedSet;
  chunk?: ChunkSizing;
  /** parallel block fetches for the native scan (default 16) */
  blockConcurrency?: number;
  /** chunks fetched ahead of the one being written (default 2) */
  prefetch?: number;
  logger?: ChainLogger;
  /** called at most every `progressIntervalMs` (default 2,000) */
  onProgress?: (p: Progress) => void;
  progressIntervalMs?: number;
  signal?: AbortSignal;
};

export type HistoricalSync = {
  /** Syncs `fromBlock..toBlock`, handing each chunk to `onChunk` in order (its write may overlap the next fetch). */
  sync(fromBlock: bigint, toBlock: bigint, onChunk: (chunk: HistoricalChunk) => Promise<void>): Promise<void>;
  /** the current adaptive chunk size */
  readonly chunkSize: number;
};

export function createHistoricalSync({
  rpc,
  spec,
  watched,
  chunk = {},
  blockConcurrency = 16,
  prefetch = 2,
  logger,
  onProgress,
  progressIntervalMs = 2_000,
  signal,
}: HistoricalSyncParameters): HistoricalSync {
  const min = Math.max(1, chunk.min ?? 1);
  const max = Math.max(min, chunk.max ?? (spec.native ? 200 : 10_000));
  const targetMs = chunk.targetMs ?? 1_000;
  let size = clamp(chunk.initial ?? 100, min, max);

  /** After a refusal, growth stops at the size that was then accepted (Ponder-style memory of the RPC's limit). */
  let cap = max;

  /** The logs of `from..to`, split into smaller ranges while the RPC refuses them as too large. */
  async function logsOf(from: bigint, to: bigint): Promise<RawLog[]> {
    try {
      return await fetchLogs(rpc, spec, { fromBlock: from, toBlock: to });
    } catch (e) {
      if (!(e instanceof LogRangeTooLargeError)) throw e;
      const span = Number(to - from + 1n);
      if (span <= min)
        throw new RpcCallError(spec.chainId, "eth_getLogs", `even ${span} block(s) are too large a range`, { cause: e, retryable: false });
      const suggested = e.suggestedBlocks !== undefined ? Number(e.suggestedBlocks) : undefined;
      const part = clamp(suggested !== undefined && suggested < span ? suggested : Math.floor(span / 2), min, max);
      size = Math.min(size, part);
      cap = Math.min(cap, part);
      logger?.debug?.({ msg: "getLogs range refused, splitting", chain_id: spec.chainId, from: String(from), to: String(to), chunk: part });
      const out: RawLog[] = [];
      for (let f = from; f <= to; f += BigInt(part)) out.push(...(await logsOf(f, bigMin(to, f + BigInt(part) - 1n))));
      return out;
    }
  }

  /** Fetches exactly `from..to` (a range fixed when the fetch starts, so prefetched ranges never leave gaps). */
  async function fetchChunk(from: bigint, to: bigint): Promise<HistoricalChunk> {
    const started = performance.now();
    const [logs, blocks] = await Promise.all([
      logsOf(from, to),
      spec.native ? fetchBlocks(from, to) : rpc.block(to, false).then((b) => [b]),
    ]);
    const collected = collectLogs(spec, watched, logs);
    if (spec.native) {
      const full = blocks as RawBlock<RawTransaction>[];
      const [txs, traced] = await Promise.all([
        collectNativeTransactions(rpc, spec, watched, full),
        collectTraceDeposits(rpc, spec, watched, full, collected.deposits),
      ]);
      collected.deposits.push(...txs, ...traced);
    }
    const lastBlock = blocks[blocks.length - 1]!;
    if (BigInt(lastBlock.number) !== to) {
      throw new RpcCallError(spec.chainId, "eth_getBlockByNumber", `asked for block ${to}, got ${BigInt(lastBlock.number)}`, {
        retryable: false,
      });
    }
    const elapsed = performance.now() - started;
    if (elapsed < targetMs && to - from + 1n >= BigInt(size)) size = clamp(size * 2, min, cap);
    else if (elapsed > targetMs * 4) size = clamp(Math.floor(size / 2), min, max);
    return {
      ...collected,
      fromBlock: from,
      toBlock: to,
      last: { number: to, hash: lastBlock.hash.toLowerCase(), parentHash: lastBlock.parentHash.toLowerCase() },
    };
  }

  function fetchBlocks(from: bigint, to: bigint): Promise<RawBlock<RawTransaction>[]> {
    const numbers: bigint[] = [];
    for (let n = from; n <= to; n++) numbers.push(n);
    return mapLimit(numbers, blockConcurrency, (n) => rpc.block(n, true));
  }

  return {
    get chunkSize() {
      return size;
    },
    async sync(fromBlock, toBlock, onChunk) {
      if (fromBlock > toBlock) return;
      const started = performance.now();
      let logs = 0;
      let lastReport = started;
      let next = fromBlock;
      let pending: Promise<void> = Promise.resolve();
      // up to `prefetch` chunk fetches in flight: the node serves one while this thread parses another
      const inflight: Promise<HistoricalChunk>[] = [];
      const dispatch = () => {
        while (inflight.length < prefetch && next <= toBlock) {
          const to = bigMin(toBlock, next + BigInt(size) - 1n);
          const p = fetchChunk(next, to);
          p.catch(() => {}); // surfaced when its turn comes
          inflight.push(p);
          next = to + 1n;
        }
      };
      dispatch();
      while (inflight.length) {
        if (signal?.aborted) break;
        const c = await inflight.shift()!;
        dispatch();
        await pending; // the previous chunk's write, so chunks land in order
        pending = onChunk(c);
        pending.catch(() => {}); // surfaced by the await above or below
        logs += c.logCount;
        const now = performance.now();
        if (now - lastReport >= progressIntervalMs || c.toBlock >= toBlock) {
          lastReport = now;
          const seconds = (now - started) / 1000;
          const done = Number(c.toBlock - fromBlock + 1n);
          const blocksPerSecond = done / seconds;
          const p: Progress = {
            chainId: spec.chainId,
            fromBlock,
            toBlock,
            block: c.toBlock,
            blocksPerSecond,
            logsPerSecond: logs / seconds,
            etaSeconds: blocksPerSecond > 0 ? Number(toBlock - c.toBlock) / blocksPerSecond : Infinity,
            chunkSize: size,
          };
          onProgress?.(p);
          // a long backfill says where it is; a short catch-up only at debug level
          const log = toBlock - fromBlock >= 1000n ? logger?.info.bind(logger) : logger?.debug?.bind(logger);
          log?.({
            msg: "backfill",
            chain_id: spec.chainId,
            block: String(p.block),
            to: String(toBlock),
            blocks_per_s: Math.round(p.blocksPerSecond),
            logs_per_s: Math.round(p.logsPerSecond),
            eta_s: Math.round(p.etaSeconds),
            chunk: size,
          });
        }
      }
      await pending;
    },
  };
}

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));
const bigMin = (a: bigint, b: bigint) => (a < b ? a : b);
