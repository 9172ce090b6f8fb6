import type { Db, Queryable } from "../store/db.js";
import { BaseError } from "../domain/errors.js";
import {
  deleteAbove,
  initCursor,
  insertBlocks,
  insertDeposits,
  insertVaultEvents,
  loadChainState,
  loadNewWatchedAddresses,
  loadWatchedAddresses,
  confirmUpTo,
  moveCursor,
  pruneBlocks,
  setConfirmedNumber,
  type BlockRef,
  type StoredDeposit,
  type StoredVaultEvent,
  type WatchedSource,
} from "../store/chain.js";
import { createSpec, type ChainSpec, type Collected } from "./collect.js";
import { DeepReorgError } from "./errors.js";
import { createHistoricalSync, type ChunkSizing, type HistoricalSync, type Progress } from "./historical.js";
import { silentLogger, type ChainLogger } from "./logger.js";
import { createLocalChain, createRealtimeSync, type LocalChain, type RealtimeSync } from "./realtime.js";
import { sleep } from "./retry.js";
import { createRpc, type CreateRpcParameters, type Rpc } from "./rpc.js";
import { LeadershipLostError } from "./errors.js";
import { createHeadSubscription } from "./heads.js";
import type { FollowerLeadership } from "./leadership.js";
import { createWatchedSet, type WatchedSet } from "./watchedSet.js";

export type FollowerChainConfig = {
  chainId: number;
  rpcUrl: string;
  /** the PaymentVault */
  vault: string;
  /** accepted tokens; the zero address stands for the native coin */
  tokens: { address: string }[];
  /** a block's contents are confirmed at this depth (1 = included) */
  confirmations: number;
  /** "depth" counts `confirmations` itself (default); "finalized" waits for the RPC's finalized block */
  finality?: "depth" | "finalized";
  /** first block to ingest when the chain has no cursor yet (default: the confirmed head at first start) */
  startBlock?: bigint;
  /** a WebSocket endpoint of the same node: `newHeads` wakes run() at once instead of at the next poll */
  wsUrl?: string;
};

/** What the follower tells the order logic. Each hook runs inside the transaction that writes the rows it names. */
export type ChainFollowerHooks = {
  /** Rows new in a block (a deposit "seen in a block", not yet at depth). */
  onSeen?(tx: Queryable, e: { chainId: number; deposits: StoredDeposit[]; vaultEvents: StoredVaultEvent[] }): Promise<void>;
  /** Rows removed by a reorg (never confirmed ones: a reorg under a confirmed row stops the follower). */
  onReorg?(
    tx: Queryable,
    e: { chainId: number; commonAncestor: BlockRef; depth: number; deposits: StoredDeposit[]; vaultEvents: StoredVaultEvent[] },
  ): Promise<void>;
  /** Rows that reached the required depth: each exactly once (marked confirmed in the same transaction). */
  onConfirmed?(tx: Queryable, e: { chainId: number; deposits: StoredDeposit[]; vaultEvents: StoredVaultEvent[] }): Promise<void>;
  /**
   * After every block or historical chunk is written, in its transaction (after onSeen/onConfirmed): the new
   * tip, and the confirmation boundary it implies (rows at or below it are reported confirmed next), so the
   * order logic can show "confirming" (a block on top, not yet at depth) without a query per deposit.
   */
  onBlock?(tx: Queryable, e: { chainId: number; tip: bigint; confirmed: bigint }): Promise<void>;
  /**
   * After each of the follower's transactions commits (outside it): what the hooks wrote is now visible to
   * other connections, so a part that reads it (the webhook notifier) can look at once instead of at its
   * next poll. Must not throw.
   */
  afterCommit?(e: { chainId: number }): void;
};

export type CreateChainFollowerParameters = {
  db: Db;
  chain: FollowerChainConfig;
  /** an RPC to use instead of one made from `chain.rpcUrl` */
  rpc?: Rpc;
  rpcOptions?: Omit<CreateRpcParameters, "chainId" | "url">;
  /** head polling interval (default 2,000 ms) */
  pollIntervalMs?: number;
  /** blocks kept below the confirmation boundary, so a reorg that touches no confirmed row can be undone (default 64) */
  keepBlocks?: number;
  /** more confirmed blocks behind than this -> historical sync (default 32) */
  catchUpThreshold?: number;
  chunk?: ChunkSizing;
  /** rows confirmed per transaction (default 5,000) */
  confirmBatch?: number;
  hooks?: ChainFollowerHooks;
  logger?: ChainLogger;
  onProgress?: (p: Progress) => void;
  /** how often a backfill reports progress (default 2,000 ms) */
  progressIntervalMs?: number;
  /** a watched set to fill (default: a new one) */
  watched?: WatchedSet;
  /** leader election across processes ({createFollowerLeadership}): run() ingests only while it leads */
  leadership?: FollowerLeadership;
};

export type TickResult = {
  head: bigint;
  tip: bigint;
  confirmed: bigint;
  blocks: number;
  reorgs: number;
  deposits: number;
};

export type ChainFollower = {
  readonly chainId: number;
  readonly rpc: Rpc;
  readonly watched: WatchedSet;
  /** Loads the cursor, the kept window and the watched set; creates the cursor on first start. */
  init(): Promise<void>;
  /** One poll: head, new watched addresses, reorg check, catch-up, new blocks, confirmations. */
  tick(): Promise<TickResult>;
  /** init(), then tick() every poll interval until stop(); rejects on a non-retryable error (e.g. {DeepReorgError}). */
  run(): Promise<void>;
  stop(): Promise<void>;
  /** Adds addresses to the watched set now (the store is polled for new ones on every tick as well). */
  watch(addresses: Iterable<string>): number;
  /** Loads addresses added to the store since the last load; returns how many were new. */
  refreshWatched(): Promise<number>;
  /** last ingested block and confirmation boundary; `leading`: run() holds the chain's leadership (always, without election) */
  status(): { tip: bigint; confirmed: bigint; leading: boolean };
};

export function createChainFollower(args: CreateChainFollowerParameters): ChainFollower {
  const {
    chain,
    pollIntervalMs = 2_000,
    keepBlocks = 64,
    catchUpThreshold = 32,
    confirmBatch = 5_000,
    hooks = {},
    logger = silentLogger,
  } = args;
  const chainId = chain.chainId;
  const abort = new AbortController();
  // while run() leads, every write transaction first checks the lease (the cursor check fences the rest)
  let lease: AbortSignal | undefined;
  let leading = false;
  const db: Db = {
    ...args.db,
    kind: args.db.kind,
    query: args.db.query.bind(args.db),
    close: args.db.close.bind(args.db),
    transaction(fn) {
      if (lease?.aborted) return Promise.reject(new LeadershipLostError(chainId));
      return args.db.transaction(fn).then((r) => {
        hooks.afterCommit?.({ chainId });
        return r;
      });
    },
  };
  const rpc =
    args.rpc ??
    createRpc({
      chainId,
      url: chain.rpcUrl,
      logger,
      ...args.rpcOptions,
      retry: { ...args.rpcOptions?.retry, signal: abort.signal },
    });
  const watched = args.watched ?? createWatchedSet();
  const spec: ChainSpec = createSpec(chain);
  const finality = chain.finality === "finalized" ? ({ mode: "finalized" } as const) : ({ mode: "depth", confirmations: chain.confirmations } as const);
  if (finality.mode === "depth" && !(chain.confirmations >= 1)) throw new BaseError(`Chain ${chainId}: confirmations must be >= 1`);
  const realtime: RealtimeSync = createRealtimeSync({ rpc, spec, watched, finality });
  const historical: HistoricalSync = createHistoricalSync({
    rpc,
    spec,
    watched,
    chunk: args.chunk,
    logger,
    onProgress: args.onProgress,
    progressIntervalMs: args.progressIntervalMs,
    signal: abort.signal,
  });

  let local: LocalChain | undefined;
  let confirmed = -1n;
  let source: WatchedSource | undefined;
  let running: Promise<void> | undefined;

  async function reload() {
    const state = await loadChainState(db, chainId);
    if (!state.cursor) throw new BaseError(`Chain ${chainId} has no cursor: init() first`);
    local = createLocalChain(state.blocks);
    confirmed = state.confirmedNumber;
    if (local.tip().number !== state.cursor.number || local.tip().hash !== state.cursor.hash) {
      throw new BaseError(`Chain ${chainId}: cursor ${state.cursor.number} is not the newest kept block ${local.tip().number}`);
    }
  }

  async function init() {
    await rpc.checkChainId();
    const state = await loadChainState(db, chainId);
    if (!state.cursor) {
      let start = chain.startBlock;
      if (start === undefined) {
        const head = await rpc.blockNumber();
        const fin = finality.mode === "finalized" ? BigInt((await rpc.block("finalized", false)).number) : undefined;
        start = realtime.boundary(head, head, fin) + 1n;
        if (start < 0n) start = 0n;
      }
      const anchor: BlockRef =
        start === 0n
          ? { number: -1n, hash: (await rpc.block(0n, false)).parentHash.toLowerCase(), parentHash: "0x" }
          : toRef(await rpc.block(start - 1n, false));
      await initCursor(db, chainId, anchor);
      logger.info({ msg: "follower cursor created", chain_id: chainId, start_block: String(start) });
    }
    await reload();
    const t0 = performance.now();
    source = await loadWatchedAddresses(db, chainId, (a) => watched.add(a));
    logger.info({ msg: "watched set loaded", chain_id: chainId, addresses: watched.size, ms: Math.round(performance.now() - t0) });
  }

  async function refreshWatched(): Promise<number> {
    if (!source) return 0;
    let added = 0;
    for (const a of await loadNewWatchedAddresses(db, chainId, source)) if (watched.add(a)) added++;
    return added;
  }

  /**
   * Writes one block or historical chunk: rows, block, cursor, hooks, in one transaction. A historical chunk
   * lies at or below the confirmation boundary already: its rows are written confirmed and reported as seen
   * and confirmed in the same transaction (no second pass over them).
   */
  async function applyBlock(block: BlockRef, collected: Collected, head: bigint, atDepth = false): Promise<number> {
    const tip = local!.tip();
    const status = atDepth ? "confirmed" : "seen";
    const inserted = await db.transaction(async (tx) => {
      await moveCursor(tx, chainId, tip, block, head);
      await insertBlocks(tx, chainId, [block]);
      const deposits = await insertDeposits(tx, collected.deposits, status);
      const vaultEvents = await insertVaultEvents(tx, collected.vaultEvents, status);
      if (deposits.length || vaultEvents.length) {
        await hooks.onSeen?.(tx, { chainId, deposits, vaultEvents });
        if (atDepth) await hooks.onConfirmed?.(tx, { chainId, deposits, vaultEvents });
      }
      // depth mode: the boundary this tip implies; finalized mode: the last known one (a lower bound)
      const boundary = atDepth ? block.number : finality.mode === "depth" ? block.number - BigInt(finality.confirmations) + 1n : confirmed;
      await hooks.onBlock?.(tx, { chainId, tip: block.number, confirmed: boundary });
      return deposits.length;
    });
    local!.push(block);
    return inserted;
  }

  /** Rolls every derived row above the ancestor back, in one transaction. */
  async function applyReorg(ancestor: BlockRef, depth: number) {
    const tip = local!.tip();
    await db.transaction(async (tx) => {
      await moveCursor(tx, chainId, tip, ancestor);
      const removed = await deleteAbove(tx, chainId, ancestor.number);
      const lost = [...removed.deposits, ...removed.vaultEvents].filter((r) => r.status === "confirmed");
      if (lost.length) {
        throw new DeepReorgError(
          chainId,
          ancestor.number + 1n,
          `${lost.length} row(s) already reported confirmed would be removed (first in block ${lost[0]!.blockNumber}, tx ${lost[0]!.txHash})`,
        );
      }
      await hooks.onReorg?.(tx, { chainId, commonAncestor: ancestor, depth, ...removed });
      logger.warn({
        msg: "reorg",
        chain_id: chainId,
        reorg_depth: depth,
        common_ancestor: String(ancestor.number),
        removed_deposits: removed.deposits.length,
        removed_vault_events: removed.vaultEvents.length,
      });
    });
    local!.truncate(ancestor.number);
  }

  /** Reports every row at or below `boundary` as confirmed, exactly once, batch by batch. */
  async function confirm(boundary: bigint) {
    // no shortcut on `boundary <= confirmed`: rows seen by realtime below a boundary that a catch-up moved
    // past are still unconfirmed, and the pass over the partial 'seen' index is cheap when there are none
    for (;;) {
      const n = await db.transaction(async (tx) => {
        const { deposits, vaultEvents } = await confirmUpTo(tx, chainId, boundary, confirmBatch);
        if (deposits.length || vaultEvents.length) await hooks.onConfirmed?.(tx, { chainId, deposits, vaultEvents });
        const more = Math.max(deposits.length, vaultEvents.length);
        if (more < confirmBatch) await setConfirmedNumber(tx, chainId, boundary);
        return more;
      });
      if (n < confirmBatch) break;
    }
    confirmed = boundary;
    const keepFrom = boundary - BigInt(keepBlocks);
    if (local!.first().number < keepFrom) {
      await pruneBlocks(db, chainId, keepFrom);
      local!.prune(keepFrom);
    }
  }

  async function tick(): Promise<TickResult> {
    if (!local) await reload();
    const result: TickResult = { head: 0n, tip: 0n, confirmed, blocks: 0, reorgs: 0, deposits: 0 };
    const head = await rpc.blockNumber();
    const finalized = finality.mode === "finalized" ? BigInt((await rpc.block("finalized", false)).number) : undefined;
    result.head = head;
    // after reading the head: an address committed before a block was mined is watched when that block is read
    await refreshWatched();

    const target = realtime.boundary(head, head, finalized);
    if (head <= local!.tip().number || target - local!.tip().number > BigInt(catchUpThreshold)) {
      const reorg = await realtime.checkTip(local!, head);
      if (reorg) {
        await applyReorg(reorg.commonAncestor, reorg.depth);
        result.reorgs++;
      }
    }
    if (target - local!.tip().number > BigInt(catchUpThreshold)) {
      await historical.sync(local!.tip().number + 1n, target, async (c) => {
        result.deposits += await applyBlock(c.last, c, head, true);
        result.blocks += Number(c.toBlock - c.fromBlock + 1n);
      });
    }
    for await (const ev of realtime.sync(local!, head, finalized)) {
      if (ev.type === "block") {
        result.deposits += await applyBlock(ev.block, ev, head);
        result.blocks++;
      } else if (ev.type === "reorg") {
        await applyReorg(ev.commonAncestor, ev.depth);
        result.reorgs++;
      } else {
        await confirm(ev.blockNumber);
      }
    }
    result.tip = local!.tip().number;
    result.confirmed = confirmed;
    return result;
  }

  async function loop() {
    const heads = chain.wsUrl ? createHeadSubscription({ url: chain.wsUrl, chainId, logger }) : undefined;
    try {
      for (;;) {
        const held = args.leadership ? await args.leadership.acquire(abort.signal) : undefined;
        if (abort.signal.aborted) {
          await held?.release();
          break;
        }
        lease = held?.lost;
        leading = true;
        try {
          await follow(heads, held?.lost);
        } finally {
          leading = false;
          await held?.release();
        }
        if (abort.signal.aborted || !held) break;
        // deposed: another process leads now; wait for the lock again and reload the window from the store then
        local = undefined;
      }
    } finally {
      lease = undefined;
      heads?.close();
    }
  }

  /** init() once, then tick() every poll interval (or at once on a new head) until stopped or deposed. */
  async function follow(heads: ReturnType<typeof createHeadSubscription> | undefined, lost: AbortSignal | undefined) {
    const stop = lost ? AbortSignal.any([abort.signal, lost]) : abort.signal;
    const pause = (ms: number) => (heads ? heads.wait(ms, stop).then(() => {}) : sleep(ms, stop));
    if (!source) await init();
    let failures = 0;
    while (!stop.aborted) {
      try {
        await tick();
        failures = 0;
      } catch (e) {
        if (stop.aborted) break;
        const retryable = e instanceof BaseError && e.retryable;
        logger[retryable ? "warn" : "error"]({ msg: "follower tick failed", chain_id: chainId, retryable, error: (e as Error).message });
        if (!retryable) throw e;
        failures++;
        local = undefined; // reload the window from the store: the failed write may have been rolled back
        // backoff: not cut short by a head, a failing RPC or store is not helped by asking sooner
        await sleep(Math.min(30_000, pollIntervalMs * 2 ** Math.min(failures, 5)), stop);
        continue;
      }
      await pause(pollIntervalMs);
    }
  }

  return {
    chainId,
    rpc,
    watched,
    init,
    tick,
    run() {
      running ??= loop();
      return running;
    },
    async stop() {
      abort.abort();
      await running?.catch(() => {});
    },
    watch(addresses) {
      let added = 0;
      for (const a of addresses) if (watched.add(a)) added++;
      return added;
    },
    refreshWatched,
    status() {
      return { tip: local?.tip().number ?? -1n, confirmed, leading: leading && !lease?.aborted };
    },
  };
}

function toRef(b: { number: string; hash: string; parentHash: string }): BlockRef {
  return { number: BigInt(b.number), hash: b.hash.toLowerCase(), parentHash: b.parentHash.toLowerCase() };
}
