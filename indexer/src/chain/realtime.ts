import { collectLogs, collectNativeTransactions, fetchLogs, type ChainSpec, type Collected } from "./collect.js";
import { DeepReorgError, RpcCallError } from "./errors.js";
import { collectTraceDeposits } from "./traces.js";
import type { RawBlock, RawTransaction, Rpc } from "./rpc.js";
import type { WatchedSet } from "./watchedSet.js";
import type { BlockRef } from "../store/chain.js";

/**
 * Realtime sync: follows the head block by block, linking each new block to the local tip by parent hash.
 * It yields `block` (a new block and what it holds), `reorg` (the local chain must be cut back to the
 * common ancestor) and `finalize` (the confirmation boundary moved). The consumer persists each event and
 * updates the {LocalChain} before asking for the next; realtime itself never writes.
 */
export type RealtimeEvent =
  | ({ type: "block"; block: BlockRef } & Collected)
  | { type: "reorg"; commonAncestor: BlockRef; depth: number }
  | { type: "finalize"; blockNumber: bigint };

/** The kept window of unconfirmed blocks, ascending, each linked to the one before by parent hash. */
export type LocalChain = {
  tip(): BlockRef;
  get(number: bigint): BlockRef | undefined;
  /** the oldest kept block */
  first(): BlockRef;
  push(block: BlockRef): void;
  /** drops every block above `number` */
  truncate(number: bigint): void;
  /** forgets blocks below `number`, keeping at least the tip */
  prune(number: bigint): void;
  readonly length: number;
};

export function createLocalChain(blocks: BlockRef[]): LocalChain {
  if (blocks.length === 0) throw new Error("A local chain needs at least its anchor block");
  let list = [...blocks].sort((a, b) => (a.number < b.number ? -1 : 1));
  const byNumber = new Map(list.map((b) => [b.number, b]));
  return {
    tip: () => list[list.length - 1]!,
    first: () => list[0]!,
    get: (n) => byNumber.get(n),
    push(block) {
      if (block.number <= list[list.length - 1]!.number) throw new Error(`block ${block.number} is not above the tip`);
      list.push(block);
      byNumber.set(block.number, block);
    },
    truncate(n) {
      while (list.length > 1 && list[list.length - 1]!.number > n) byNumber.delete(list.pop()!.number);
    },
    prune(n) {
      let i = 0;
      while (i < list.length - 1 && list[i]!.number < n) byNumber.delete(list[i++]!.number);
      if (i) list = list.slice(i);
    },
    get length() {
      return list.length;
    },
  };
}

export type Finality = { mode: "depth"; confirmations: number } | { mode: "finalized" };

export type RealtimeSyncParameters = {
  rpc: Rpc;
  spec: ChainSpec;
  watched: WatchedSet;
  finality: Finality;
};

export type RealtimeSync = {
  /**
   * Whether the local tip is still canonical at `head` (a reorg at the same height, or a shorter chain);
   * returns the `reorg` event to apply if not.
   */
  checkTip(local: LocalChain, head: bigint): Promise<Extract<RealtimeEvent, { type: "reorg" }> | undefined>;
  /** Brings the local chain up to `head`, then reports the confirmation boundary. */
  sync(local: LocalChain, head: bigint, finalized?: bigint): AsyncGenerator<RealtimeEvent>;
  /** The highest block whose contents count as confirmed, given the RPC's head and the local tip. */
  boundary(localTip: bigint, head: bigint, finalized?: bigint): bigint;
};

export function createRealtimeSync({ rpc, spec, watched, finality }: RealtimeSyncParameters): RealtimeSync {
  /**
   * The one walk back to the common ancestor: from a canonical block that does not link onto the local
   * chain, follow parent hashes down until a parent is the local block of that height. Runs out of the
   * kept window -> {DeepReorgError}.
   */
  async function commonAncestor(local: LocalChain, remote: RawBlock): Promise<BlockRef> {
    let r = remote;
    for (;;) {
      const n = BigInt(r.number) - 1n;
      const mine = local.get(n);
      if (!mine) throw new DeepReorgError(spec.chainId, n, `block ${n} is below the kept window (oldest ${local.first().number})`);
      if (mine.hash === r.parentHash.toLowerCase()) return mine;
      // the parent by hash keeps the walk on one branch; if the node dropped it meanwhile, re-read by number
      r = (await rpc.blockByHash(r.parentHash)) ?? (await rpc.block(n, false));
    }
  }

  function boundary(localTip: bigint, head: bigint, finalized?: bigint): bigint {
    const top = localTip < head ? localTip : head;
    if (finality.mode === "finalized") return finalized === undefined ? -1n : finalized < top ? finalized : top;
    return top - BigInt(finality.confirmations) + 1n;
  }

  function reorgTo(local: LocalChain, ancestor: BlockRef): Extract<RealtimeEvent, { type: "reorg" }> {
    return { type: "reorg", commonAncestor: ancestor, depth: Number(local.tip().number - ancestor.number) };
  }

  return {
    async checkTip(local, head) {
      const tip = local.tip();
      if (tip.number < 0n) return undefined; // the anchor before genesis cannot be reorged
      const at = head < tip.number ? head : tip.number;
      const mine = local.get(at);
      const remote = await rpc.block(at, false);
      if (mine && remote.hash.toLowerCase() === mine.hash) {
        return at < tip.number ? reorgTo(local, mine) : undefined; // a shorter chain that agrees up to `at`
      }
      if (!mine) throw new DeepReorgError(spec.chainId, at, `the head fell to ${head}, below the kept window`);
      return reorgTo(local, await commonAncestor(local, remote));
    },

    async *sync(local, head, finalized) {
      while (local.tip().number < head) {
        const tip = local.tip();
        const n = tip.number + 1n;
        const block = spec.native ? await rpc.block(n, true) : await rpc.block(n, false);
        if (block.parentHash.toLowerCase() !== tip.hash) {
          yield reorgTo(local, await commonAncestor(local, block));
          continue;
        }
        const hash = block.hash.toLowerCase();
        const logs = await fetchLogs(rpc, spec, { blockHash: hash });
        if (logs.some((l) => l.blockHash.toLowerCase() !== hash)) {
          throw new RpcCallError(spec.chainId, "eth_getLogs", `logs asked for block ${hash} came from another block`, { retryable: true });
        }
        const collected = collectLogs(spec, watched, logs);
        if (spec.native) {
          const full = [block as RawBlock<RawTransaction>];
          const [txs, traced] = await Promise.all([
            collectNativeTransactions(rpc, spec, watched, full),
            collectTraceDeposits(rpc, spec, watched, full, collected.deposits),
          ]);
          collected.deposits.push(...txs, ...traced);
        }
        yield { type: "block", block: { number: n, hash, parentHash: block.parentHash.toLowerCase() }, ...collected };
      }
      yield { type: "finalize", blockNumber: boundary(local.tip().number, head, finalized) };
    },

    boundary,
  };
}
