import { createPublicClient, http, type PublicClient } from "viem";
import { ChainIdMismatchError, LogRangeTooLargeError, RpcCallError } from "./errors.js";
import { withRetry, type RetryOptions } from "./retry.js";
import type { ChainLogger } from "./logger.js";

/** A log as the node sends it (hex strings, not formatted: the follower slices them itself). */
export type RawLog = {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  logIndex: string;
  removed?: boolean;
};
export type RawTransaction = { hash: string; from: string; to: string | null; value: string; gas?: string; input?: string };
export type RawBlock<Tx = RawTransaction | string> = {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
  transactions: Tx[];
};
export type RawReceipt = { transactionHash: string; blockHash: string; status: string; logs: RawLog[] };

/** A frame of geth's `callTracer` (`debug_trace*` with `{ tracer: "callTracer" }`), as the node sends it. */
export type CallFrame = { type: string; from: string; to?: string; value?: string; error?: string; calls?: CallFrame[] };
/** One entry of OpenEthereum/Erigon's `trace_block`. */
export type ParityTrace = {
  type: string;
  action: { callType?: string; from?: string; to?: string; value?: string; address?: string; refundAddress?: string; balance?: string };
  error?: string;
  result?: { address?: string } | null;
  traceAddress: number[];
  transactionHash?: string | null;
  transactionPosition?: number | null;
  blockHash?: string;
};
/** A balance to read: the native coin (`token` = zero address) or an ERC-20's `balanceOf`. */
export type BalanceQuery = { address: string; token: string };
/** What the RPC has answered lately: the follower's health shows it per chain. */
export type RpcHealth = {
  /** false after a failed call until the next call that succeeds */
  up: boolean;
  /** the last failure's message (kept after recovery, with its time) */
  lastError: string | undefined;
  lastErrorAt: Date | undefined;
  lastOkAt: Date | undefined;
  /** failures since the last success */
  consecutiveFailures: number;
};

export type BlockTag = "latest" | "safe" | "finalized";
export type LogFilter = ({ fromBlock: bigint; toBlock: bigint } | { blockHash: string }) & {
  address?: string[];
  topics?: (string | string[] | null)[];
};

export type CreateRpcParameters = {
  chainId: number;
  url: string;
  /** per-request timeout, ms (default 15,000) */
  timeoutMs?: number;
  /** largest response body accepted, bytes (default 256 MiB; viem's own default is 10 MiB) */
  maxResponseBodySize?: number;
  retry?: RetryOptions;
  logger?: ChainLogger;
};

export type Rpc = {
  readonly chainId: number;
  /** the underlying viem client (cacheTime 0, no retries of its own) */
  readonly client: PublicClient;
  /** Checks that the RPC serves the configured chain. */
  checkChainId(): Promise<void>;
  blockNumber(): Promise<bigint>;
  /** The block, with full transactions when `full`; retried while the node does not have it yet. */
  block(at: bigint | BlockTag, full: true): Promise<RawBlock<RawTransaction>>;
  block(at: bigint | BlockTag, full: false): Promise<RawBlock<string>>;
  /** The block with this hash, or null when the node no longer knows it (reorged away). */
  blockByHash(hash: string): Promise<RawBlock<string> | null>;
  /** `eth_getLogs`. A range the RPC refuses as too large throws {LogRangeTooLargeError} at once. */
  getLogs(filter: LogFilter): Promise<RawLog[]>;
  receipt(txHash: string): Promise<RawReceipt>;
  /** `debug_traceBlockByHash` with the call tracer: one frame tree per transaction, in block order. */
  traceBlockCalls(blockHash: string): Promise<{ txHash?: string; result?: CallFrame; error?: string }[]>;
  /** `debug_traceTransaction` with the call tracer. */
  traceTransactionCalls(txHash: string): Promise<CallFrame>;
  /** `trace_block` (OpenEthereum/Erigon/Nethermind/Reth). */
  traceBlockParity(blockNumber: bigint): Promise<ParityTrace[]>;
  /**
   * Balances at the block with this hash (EIP-1898), in JSON-RPC batches: `eth_getBalance` for the native
   * coin, `eth_call` of `balanceOf` for a token. A token whose call fails reads as `undefined`.
   */
  balances(queries: BalanceQuery[], blockHash: string): Promise<(bigint | undefined)[]>;
  /** whether the RPC answers, and its last error */
  health(): RpcHealth;
};

/** One viem public client per chain, with retries (exponential backoff, jitter) on retryable errors only. */
export function createRpc({
  chainId,
  url,
  timeoutMs = 15_000,
  maxResponseBodySize = 256 * 1024 * 1024,
  retry = {},
  logger,
}: CreateRpcParameters): Rpc {
  const client = createPublicClient({
    cacheTime: 0,
    transport: http(url, { retryCount: 0, timeout: timeoutMs, maxResponseBodySize }),
  }) as PublicClient;
  // balance reads go out in JSON-RPC batches (viem groups the calls made in one tick)
  const batched = createPublicClient({
    cacheTime: 0,
    transport: http(url, { retryCount: 0, timeout: timeoutMs, maxResponseBodySize, batch: { batchSize: BALANCE_BATCH, wait: 0 } }),
  }) as PublicClient;
  const state: RpcHealth = { up: true, lastError: undefined, lastErrorAt: undefined, lastOkAt: undefined, consecutiveFailures: 0 };
  const answered = () => {
    state.up = true;
    state.consecutiveFailures = 0;
    state.lastOkAt = new Date();
  };
  const failed = (e: RpcCallError) => {
    state.up = false;
    state.consecutiveFailures++;
    state.lastError = e.message.split("\n")[0];
    state.lastErrorAt = new Date();
  };

  async function call<T>(method: string, params: unknown[], accept?: (result: T) => boolean, via: PublicClient = client): Promise<T> {
    return withRetry(
      async () => {
        let result: T;
        try {
          result = (await via.request({ method: method as any, params: params as any })) as T;
          answered();
        } catch (e) {
          if (method === "eth_getLogs" && isRangeError(e)) {
            answered();
            const f = params[0] as { fromBlock?: string; toBlock?: string };
            if (f.fromBlock !== undefined && f.toBlock !== undefined) {
              throw new LogRangeTooLargeError(chainId, BigInt(f.fromBlock), BigInt(f.toBlock), suggestedRange(e), e);
            }
            // one block (by hash) cannot be split: say so loudly
            throw new RpcCallError(chainId, method, "one block's logs are too large for the RPC", { cause: e, retryable: false });
          }
          const error = toRpcError(chainId, method, e);
          // a retryable failure (network, 5xx, timeout) means the RPC is not answering; a refusal is an answer
          if (error.retryable) failed(error);
          else answered();
          throw error;
        }
        if (accept && !accept(result)) {
          throw new RpcCallError(chainId, method, "the node has no answer yet", { retryable: true });
        }
        return result;
      },
      (e) => e instanceof RpcCallError && e.retryable,
      {
        ...retry,
        onRetry: (info) => {
          retry.onRetry?.(info);
          logger?.[info.attempt >= 3 ? "warn" : "debug"]?.({
            msg: "rpc retry",
            chain_id: chainId,
            method,
            attempt: info.attempt,
            delay_ms: info.delayMs,
            error: (info.error as Error).message.split("\n")[0],
          });
        },
      },
    );
  }

  const hexOrTag = (at: bigint | BlockTag) => (typeof at === "bigint" ? `0x${at.toString(16)}` : at);

  return {
    chainId,
    client,
    async checkChainId() {
      const actual = Number(await call<string>("eth_chainId", []));
      if (actual !== chainId) throw new ChainIdMismatchError(chainId, actual);
    },
    async blockNumber() {
      return BigInt(await call<string>("eth_blockNumber", []));
    },
    block(at: bigint | BlockTag, full: boolean) {
      return call<RawBlock<any>>("eth_getBlockByNumber", [hexOrTag(at), full], (b) => b != null);
    },
    blockByHash(hash) {
      return call<RawBlock<string> | null>("eth_getBlockByHash", [hash, false]);
    },
    async getLogs(filter) {
      const params: Record<string, unknown> = {};
      if ("blockHash" in filter) params.blockHash = filter.blockHash;
      else {
        params.fromBlock = `0x${filter.fromBlock.toString(16)}`;
        params.toBlock = `0x${filter.toBlock.toString(16)}`;
      }
      if (filter.address) params.address = filter.address;
      if (filter.topics) params.topics = filter.topics;
      return call<RawLog[]>("eth_getLogs", [params]);
    },
    receipt(txHash) {
      return call<RawReceipt>("eth_getTransactionReceipt", [txHash], (r) => r != null);
    },
    traceBlockCalls(blockHash) {
      return call("debug_traceBlockByHash", [blockHash, { tracer: "callTracer" }]);
    },
    traceTransactionCalls(txHash) {
      return call("debug_traceTransaction", [txHash, { tracer: "callTracer" }]);
    },
    traceBlockParity(blockNumber) {
      return call("trace_block", [`0x${blockNumber.toString(16)}`]);
    },
    async balances(queries, blockHash) {
      const at = { blockHash };
      // one JSON-RPC batch at a time: the balance net reads beside the follower, and a node that answers in
      // order (Hardhat's EDR, a small self-hosted node) then serves the next head's calls between two batches
      // instead of after all of them (bench:indexer's webhook p99 rose from ~90 ms to ~220 ms without this)
      const out: (bigint | undefined)[] = [];
      for (let i = 0; i < queries.length; i += BALANCE_BATCH) out.push(...(await readBatch(queries.slice(i, i + BALANCE_BATCH), at)));
      return out;
    },
    health: () => ({ ...state }),
  };

  function readBatch(queries: BalanceQuery[], at: { blockHash: string }): Promise<(bigint | undefined)[]> {
    return Promise.all(
      queries.map(async (q) => {
        if (q.token === ZERO_ADDRESS) return BigInt(await call<string>("eth_getBalance", [q.address, at], undefined, batched));
        const data = `${BALANCE_OF}${q.address.slice(2).toLowerCase().padStart(64, "0")}`;
        try {
          const out = await call<string>("eth_call", [{ to: q.token, data }, at], undefined, batched);
          return out.length >= 66 ? BigInt(out.slice(0, 66)) : undefined;
        } catch (e) {
          if (e instanceof RpcCallError && !e.retryable) return undefined; // a token that reverts: nothing to read
          throw e;
        }
      }),
    );
  }
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
/** `balanceOf(address)` selector */
const BALANCE_OF = "0x70a08231";
/** balance reads per JSON-RPC batch */
const BALANCE_BATCH = 100;

export type TraceSupport = {
  /** `debug_traceBlockByHash` with the call tracer (geth, Reth, Erigon, Nethermind, Besu) */
  debug_traceBlock: boolean;
  /** `trace_block` (Erigon, Reth, Nethermind, OpenEthereum) */
  trace_block: boolean;
  /** `debug_traceTransaction` with the call tracer (also Hardhat's EDR) */
  debug_traceTransaction: boolean;
  /** the cheapest mode that works, or "off": set it as the chain's `trace` */
  recommended: "debug_traceBlock" | "trace_block" | "debug_traceTransaction" | "off";
  /** why each unsupported method was judged so */
  errors: Record<string, string>;
};

/**
 * Asks the RPC which trace methods it serves, on its latest block (for the operator's `doctor` and the
 * chain's `trace` setting). A method counts as supported when it answers; "method not found/supported",
 * an unknown tracer or a refusal counts as not. Network failures are thrown (the RPC is down, not lacking).
 */
export async function probeTraceSupport(rpc: Rpc): Promise<TraceSupport> {
  const block = await rpc.block("latest", true);
  const errors: Record<string, string> = {};
  const tx = block.transactions[0]?.hash;
  const attempt = async (name: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      return true;
    } catch (e) {
      if (e instanceof RpcCallError && e.retryable) throw e;
      errors[name] = (e as Error).message.split("\n")[0]!;
      return false;
    }
  };
  const debugBlock = await attempt("debug_traceBlock", () => rpc.traceBlockCalls(block.hash));
  const parity = await attempt("trace_block", () => rpc.traceBlockParity(BigInt(block.number)));
  // no transaction in the latest block: an unknown hash still tells "not found" from "no such method"
  const debugTx = await attempt("debug_traceTransaction", async () => {
    try {
      await rpc.traceTransactionCalls(tx ?? `0x${"00".repeat(32)}`);
    } catch (e) {
      if (
        !tx &&
        !/not (supported|found|available)|does not exist|unsupported|unknown method|-32601/i.test(
          (e as Error).message + String((e as any).cause?.code),
        )
      )
        return;
      if (!tx && /transaction .*not found/i.test((e as Error).message)) return;
      throw e;
    }
  });
  const recommended = debugBlock ? "debug_traceBlock" : parity ? "trace_block" : debugTx ? "debug_traceTransaction" : "off";
  return { debug_traceBlock: debugBlock, trace_block: parity, debug_traceTransaction: debugTx, recommended, errors };
}

type Facts = { messages: string; codes: number[]; statuses: number[]; names: string[] };

function facts(error: unknown): Facts {
  const f: Facts = { messages: "", codes: [], statuses: [], names: [] };
  let e: any = error;
  for (let depth = 0; e && depth < 8; depth++, e = e.cause) {
    f.messages += ` ${e.shortMessage ?? ""} ${e.details ?? ""} ${e.message ?? ""}`;
    if (typeof e.code === "number") f.codes.push(e.code);
    if (typeof e.status === "number") f.statuses.push(e.status);
    if (typeof e.name === "string") f.names.push(e.name);
  }
  return f;
}

const RANGE_MESSAGE =
  /more than \d+ results|too many (results|logs)|response size|result(s)? (set )?(is )?too large|block range|range (is )?too (large|wide)|exceed(s|ed)? (the )?(max(imum)?|limit)|limit(ed)? to \d+|query timeout|query returned more/i;

/** Whether an `eth_getLogs` failure is the RPC refusing the size of the range (shrink, don't back off). */
export function isRangeError(error: unknown): boolean {
  const f = facts(error);
  return f.names.includes("ResponseBodyTooLargeError") || RANGE_MESSAGE.test(f.messages);
}

/** The block count an RPC's refusal suggests ("up to a 2K block range", "[0x1, 0x7d0]"), if any. */
export function suggestedRange(error: unknown): bigint | undefined {
  const m = facts(error).messages;
  const pair = m.match(/\[(0x[0-9a-f]+),\s*(0x[0-9a-f]+)\]/i);
  if (pair) return BigInt(pair[2]!) - BigInt(pair[1]!) + 1n;
  const k = m.match(/(\d+)\s*(k)?\s*block range/i) ?? m.match(/range (?:of|up to|is limited to) (\d+)\s*(k)?/i);
  if (k) return BigInt(k[1]!) * (k[2] ? 1000n : 1n);
  return undefined;
}

/**
 * Classifies a failed request: network failures, timeouts, HTTP 408/425/429/5xx, JSON-RPC internal errors,
 * rate limits and a node that is behind are retryable; bad parameters, unknown methods and the like are not.
 */
export function isRetryableRpcFailure(error: unknown): boolean {
  const f = facts(error);
  if (f.names.some((n) => n === "AbortError")) return false;
  if (f.statuses.some((s) => s === 408 || s === 425 || s === 429 || s >= 500)) return true;
  if (f.names.some((n) => n === "TimeoutError" || n === "SocketClosedError" || n === "ResponseBodyTooLargeError")) return true;
  // HttpRequestError without a status: the connection failed or was dropped
  if (f.names.includes("HttpRequestError") && f.statuses.length === 0) return true;
  if (f.codes.some((c) => c === -32603 || c === -32005 || c === -32000 || c === -32016 || c === 429 || c === -1)) return true;
  if (
    /rate limit|too many requests|timeout|timed out|ECONNRESET|ECONNREFUSED|socket|fetch failed|header not found|unknown block|not (yet )?available/i.test(
      f.messages,
    )
  )
    return true;
  if (f.names.some((n) => n === "SyntaxError")) return true; // a truncated body
  return false;
}

function toRpcError(chainId: number, method: string, e: unknown): RpcCallError {
  const message = ((e as any)?.shortMessage ?? (e as Error)?.message ?? String(e)).split("\n")[0];
  return new RpcCallError(chainId, method, message, { cause: e, retryable: isRetryableRpcFailure(e) });
}
