import type { Db, Queryable } from "../store/db.js";
import { BaseError } from "../domain/errors.js";
import {
  absorbIntoBalanceDeposits,
  deleteAbove,
  initCursor,
  insertBlocks,
  insertDeposits,
  insertOutflows,
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
import { createBalanceChecker, type BalanceChecker, type BalancePollConfig, type BalanceReading } from "./balances.js";
import { createSpec, type ChainSpec, type Collected } from "./collect.js";
import { DeepReorgError } from "./errors.js";
import { createHistoricalSync, type ChunkSizing, type HistoricalSync, type Progress } from "./historical.js";
import { silentLogger, type ChainLogger } from "./logger.js";
import { createLocalChain, createRealtimeSync, type LocalChain, type RealtimeSync } from "./realtime.js";
import { sleep } from "./retry.js";
import { createRpc, type CreateRpcParameters, type Rpc } from "./rpc.js";
import type { TraceMode } from "./traces.js";
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
  /**
   * How internal native transfers (a contract paying a deposit address) are read: from traces with one of
   * the RPC's trace methods (`probeTraceSupport` says which it serves), or "off" (default): then the
   * addresses of open native orders and recent recharge addresses are checked by balance every block.
   */
  trace?: TraceMode | "off";
  /** the balance safety net's cadence (see chain/balances.ts) */
  balancePoll?: BalancePollConfig;
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
  /** (address, token) balances read by the safety net in this tick, and the deposits it found */
  balancesRead: number;
  foundByBalance: number;
};

/** One follower's state for health checks and metrics. */
export type FollowerStatus = {
  chainId: number;
  /** last ingested block (-1 before the first) and confirmation boundary */
  tip: bigint;
  confirmed: bigint;
  /** the RPC's head when last read (-1 before), and how far the follower is behind it */
  head: bigint;
  lag: bigint;
  /** run() holds the chain's leadership (always, without election) */
  leading: boolean;
  /** whether the RPC answered its last call */
  rpcUp: boolean;
  /** the last error: a failed tick, else the RPC's last failed call (kept after recovery, with its time) */
  lastError: string | null;
  lastErrorAt: Date | null;
  /** when a tick last completed */
  lastTickAt: Date | null;
  /** "traces (<method>)" or "balance" */
  internalTransfers: string;
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
  /**
   * Reads confirmed blocks `fromBlock..toBlock` again (logs, native transactions, traces in this follower's
   * mode) and records what is missing: after an RPC gap, or with traces turned on for blocks followed
   * without. New rows are reported seen and confirmed; a transfer whose money the balance net already
   * reported is absorbed by that row instead. Serialised with tick(). Returns the rows new to the store.
   */
  rescan(fromBlock: bigint, toBlock: bigint): Promise<{ deposits: number; absorbed: number; vaultEvents: number }>;
  /** tip, boundary, head and lag, leadership, RPC up/down and the last error */
  status(): FollowerStatus;
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
  const balances: BalanceChecker = createBalanceChecker({ db, rpc, spec, config: chain.balancePoll, logger });
  const finality =
    chain.finality === "finalized" ? ({ mode: "finalized" } as const) : ({ mode: "depth", confirmations: chain.confirmations } as const);
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
  let lastHead = -1n;
  let lastTickAt: Date | null = null;
  let tickError: { message: string; at: Date } | null = null;
  // tick() and rescan() write the same chain: one at a time
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  };

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
      let deposits = await insertDeposits(tx, collected.deposits, status);
      const vaultEvents = await insertVaultEvents(tx, collected.vaultEvents, status);
      await insertOutflows(tx, collected.outflows);
      const absorbed = await absorbIntoBalanceDeposits(tx, chainId, deposits);
      if (absorbed.size) deposits = deposits.filter((d) => !absorbed.has(d.id));
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
    balances.noteOutflows(collected.outflows.map((o) => ({ address: o.from, token: o.token })));
    return inserted;
  }

  /**
   * Writes what a balance reading at one of the kept blocks shows beyond the rows at or below that block,
   * as 'balance' deposits at it, in one transaction that checks the cursor has not moved. A reading of a
   * block a reorg has replaced meanwhile is dropped (the next one covers its addresses).
   */
  async function applyReading(reading: BalanceReading): Promise<number> {
    if (!local || local.get(reading.block.number)?.hash !== reading.block.hash) return 0;
    const tip = local.tip();
    const found = await db.transaction(async (tx) => {
      await moveCursor(tx, chainId, tip, tip);
      const deposits = await insertDeposits(tx, await balances.found(tx, reading), "seen");
      if (deposits.length) await hooks.onSeen?.(tx, { chainId, deposits, vaultEvents: [] });
      return deposits.length;
    });
    balances.done(reading);
    if (found && reading.block.number <= confirmed) await confirm(confirmed);
    return found;
  }

  // run(): the balance net reads beside the follower, so new blocks (and their webhooks) never wait for it
  let balanceCheck: Promise<void> | undefined;
  function startBalanceCheck() {
    if (balanceCheck || !local) return;
    balanceCheck = balances
      .read(local.tip())
      .then((reading) => (reading ? exclusive(() => applyReading(reading)) : 0))
      .then(
        () => {},
        (e) => {
          tickError = { message: (e as Error).message.split("\n")[0]!, at: new Date() };
          logger.warn({ msg: "balance check failed", chain_id: chainId, error: (e as Error).message });
        },
      )
      .finally(() => (balanceCheck = undefined));
  }

  /** Rolls every derived row above the ancestor back, in one transaction. */
  async function applyReorg(ancestor: BlockRef, depth: number) {
    const tip = local!.tip();
    await db.transaction(async (tx) => {
      await moveCursor(tx, chainId, tip, ancestor);
      const { all, released, ...removed } = await deleteAbove(tx, chainId, ancestor.number);
      const lost = [...all, ...removed.vaultEvents].filter((r) => r.status === "confirmed");
      if (lost.length) {
        throw new DeepReorgError(
          chainId,
          ancestor.number + 1n,
          `${lost.length} row(s) already reported confirmed would be removed (first in block ${lost[0]!.blockNumber}, tx ${lost[0]!.txHash})`,
        );
      }
      await hooks.onReorg?.(tx, { chainId, commonAncestor: ancestor, depth, ...removed });
      // transfers a removed balance row had absorbed are still on chain: reported now, in their own right
      if (released.length) {
        await hooks.onSeen?.(tx, { chainId, deposits: released, vaultEvents: [] });
        const done = released.filter((d) => d.status === "confirmed");
        if (done.length) await hooks.onConfirmed?.(tx, { chainId, deposits: done, vaultEvents: [] });
      }
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
        const { deposits, vaultEvents, marked } = await confirmUpTo(tx, chainId, boundary, confirmBatch);
        if (deposits.length || vaultEvents.length) await hooks.onConfirmed?.(tx, { chainId, deposits, vaultEvents });
        const more = Math.max(marked, vaultEvents.length);
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

  /** `background`: the balance net's reads go on beside the follower (run()); otherwise the tick waits for them (tests, tools). */
  async function tick(background = false): Promise<TickResult> {
    if (!local) await reload();
    const result: TickResult = { head: 0n, tip: 0n, confirmed, blocks: 0, reorgs: 0, deposits: 0, balancesRead: 0, foundByBalance: 0 };
    const head = await rpc.blockNumber();
    lastHead = head;
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
    let followed = false;
    for await (const ev of realtime.sync(local!, head, finalized)) {
      if (ev.type === "block") {
        result.deposits += await applyBlock(ev.block, ev, head);
        result.blocks++;
        followed = true;
      } else if (ev.type === "reorg") {
        await applyReorg(ev.commonAncestor, ev.depth);
        result.reorgs++;
      } else {
        await confirm(ev.blockNumber);
        // new blocks at the head: the balance net reads what is due at the newest (every block when following),
        // after the blocks and their confirmations are written, so a success webhook never waits for it
        if (followed && background) startBalanceCheck();
        else if (followed) {
          const reading = await balances.read(local!.tip());
          if (reading) {
            result.balancesRead += reading.queries.length;
            result.foundByBalance += await applyReading(reading);
          }
        }
      }
    }
    result.tip = local!.tip().number;
    result.confirmed = confirmed;
    lastTickAt = new Date();
    tickError = null;
    return result;
  }

  async function rescan(fromBlock: bigint, toBlock: bigint) {
    if (!local) await reload();
    if (toBlock > confirmed)
      throw new BaseError(`Chain ${chainId}: rescan only reads confirmed blocks (up to ${confirmed}), not ${toBlock}`);
    const out = { deposits: 0, absorbed: 0, vaultEvents: 0 };
    const sync = createHistoricalSync({ rpc, spec, watched, chunk: args.chunk, logger, signal: abort.signal });
    await sync.sync(fromBlock, toBlock, async (c) => {
      await db.transaction(async (tx) => {
        // no cursor move: checking it in place fences a concurrent writer of the chain
        const at = local!.tip();
        await moveCursor(tx, chainId, at, at);
        let deposits = await insertDeposits(tx, c.deposits, "confirmed");
        const vaultEvents = await insertVaultEvents(tx, c.vaultEvents, "confirmed");
        await insertOutflows(tx, c.outflows);
        const absorbed = await absorbIntoBalanceDeposits(tx, chainId, deposits);
        if (absorbed.size) deposits = deposits.filter((d) => !absorbed.has(d.id));
        if (deposits.length || vaultEvents.length) {
          await hooks.onSeen?.(tx, { chainId, deposits, vaultEvents });
          await hooks.onConfirmed?.(tx, { chainId, deposits, vaultEvents });
        }
        out.deposits += deposits.length;
        out.absorbed += absorbed.size;
        out.vaultEvents += vaultEvents.length;
      });
    });
    logger.info({ msg: "rescan", chain_id: chainId, from: String(fromBlock), to: String(toBlock), ...out });
    return out;
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
        await exclusive(() => tick(true));
        failures = 0;
      } catch (e) {
        if (stop.aborted) break;
        const retryable = e instanceof BaseError && e.retryable;
        tickError = { message: (e as Error).message.split("\n")[0]!, at: new Date() };
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
    tick: () => exclusive(() => tick()),
    rescan: (fromBlock, toBlock) => exclusive(() => rescan(fromBlock, toBlock)),
    run() {
      running ??= loop();
      return running;
    },
    async stop() {
      abort.abort();
      await running?.catch(() => {});
      await balanceCheck;
    },
    watch(addresses) {
      let added = 0;
      for (const a of addresses) if (watched.add(a)) added++;
      return added;
    },
    refreshWatched,
    status() {
      const tip = local?.tip().number ?? -1n;
      const r = rpc.health();
      const rpcError = r.lastError && r.lastErrorAt ? { message: r.lastError, at: r.lastErrorAt } : null;
      const last = tickError && (!rpcError || tickError.at >= rpcError.at) ? tickError : rpcError;
      return {
        chainId,
        tip,
        confirmed,
        head: lastHead,
        lag: lastHead >= 0n && tip >= 0n && lastHead > tip ? lastHead - tip : 0n,
        leading: leading && !lease?.aborted,
        rpcUp: r.up,
        lastError: last?.message ?? null,
        lastErrorAt: last?.at ?? null,
        lastTickAt,
        internalTransfers: spec.trace ? `traces (${spec.trace})` : "balance",
      };
    },
  };
}

function toRef(b: { number: string; hash: string; parentHash: string }): BlockRef {
  return { number: BigInt(b.number), hash: b.hash.toLowerCase(), parentHash: b.parentHash.toLowerCase() };
}
