import { mapLimit, type ChainSpec } from "./collect.js";
import { NATIVE_TOKEN_LOWER, type Deposit } from "./decode.js";
import { RpcCallError } from "./errors.js";
import type { CallFrame, ParityTrace, RawBlock, RawTransaction, Rpc } from "./rpc.js";
import type { WatchedSet } from "./watchedSet.js";

/**
 * Internal native transfers from traces: native coin a contract (a Safe, an exchange's batch withdrawal, a
 * payment router) sends to a deposit address inside a transaction leaves no log when the address has no
 * code yet, and is no top-level transaction to it. A trace of the transaction shows it as a call frame.
 *
 * Modes (the chain's `trace` setting; `probeTraceSupport` in rpc.ts says which the RPC serves):
 * - `debug_traceBlock`: one `debug_traceBlockByHash` with the call tracer per block (geth, Reth, Erigon, Nethermind, Besu);
 * - `trace_block`: one `trace_block` per block (Erigon, Reth, Nethermind);
 * - `debug_traceTransaction`: one call per transaction that can run code (gas above 21,000), for nodes that
 *   trace only transactions (Hardhat's EDR).
 *
 * What counts: a successful frame (no error on it or any frame above it, which a revert undoes) of type
 * CALL, CREATE/CREATE2 or SELFDESTRUCT that moves value to a watched address, below the top level (the
 * top-level transaction is the `native_tx` row's, see collect.ts). Its key is the transaction and
 * `logIndex = -2 - k`, k the frame's rank among the transaction's successful value-moving internal frames
 * in pre-order: the same frame gets the same key from every tracer (they differ in which value-less frames
 * they list), so a rescan in another mode finds the row already there.
 *
 * One transfer, one row: a deposit address that has code emits its LOG3 for an internal call too; such a
 * frame is dropped when its transaction has a `native_log` row with the same recipient, sender and amount.
 */
export type TraceMode = "debug_traceBlock" | "trace_block" | "debug_traceTransaction";

export const TRACE_MODES: readonly TraceMode[] = ["debug_traceBlock", "trace_block", "debug_traceTransaction"];

/** A successful internal value transfer of one transaction, with its rank (k) among them. */
export type ValueFrame = { rank: number; from: string; to: string; value: bigint };

const MOVES_VALUE = new Set(["CALL", "CREATE", "CREATE2", "SELFDESTRUCT"]);

/** The successful internal value transfers of a call-tracer tree, in pre-order (the root itself is excluded). */
export function valueFramesOfCallTree(root: CallFrame): ValueFrame[] {
  const out: ValueFrame[] = [];
  if (root.error) return out; // a failed transaction moved nothing
  const walk = (frame: CallFrame) => {
    for (const child of frame.calls ?? []) {
      if (child.error) continue; // reverted: neither it nor anything below it moved value
      const value = child.value ? BigInt(child.value) : 0n;
      if (value > 0n && child.to && MOVES_VALUE.has(child.type.toUpperCase())) {
        out.push({ rank: out.length, from: child.from.toLowerCase(), to: child.to.toLowerCase(), value });
      }
      walk(child);
    }
  };
  walk(root);
  return out;
}

/** The same from `trace_block` entries of one transaction (any order; sorted into pre-order by trace address). */
export function valueFramesOfParityTraces(traces: ParityTrace[]): ValueFrame[] {
  const sorted = [...traces].sort((a, b) => comparePath(a.traceAddress, b.traceAddress));
  const failed: number[][] = [];
  const out: ValueFrame[] = [];
  for (const t of sorted) {
    if (failed.some((p) => isPrefix(p, t.traceAddress))) continue;
    if (t.error) {
      failed.push(t.traceAddress);
      continue;
    }
    if (t.traceAddress.length === 0) continue; // the top-level call
    const a = t.action;
    let to: string | undefined;
    let value = 0n;
    if (t.type === "call" && (a.callType ?? "call") === "call") {
      to = a.to;
      value = a.value ? BigInt(a.value) : 0n;
    } else if (t.type === "create") {
      to = t.result?.address;
      value = a.value ? BigInt(a.value) : 0n;
    } else if (t.type === "suicide" || t.type === "selfdestruct") {
      to = a.refundAddress;
      value = a.balance ? BigInt(a.balance) : 0n;
    }
    if (value > 0n && to) out.push({ rank: out.length, from: (a.from ?? a.address ?? "").toLowerCase(), to: to.toLowerCase(), value });
  }
  return out;
}

function comparePath(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
const isPrefix = (p: number[], of: number[]) => p.length <= of.length && p.every((x, i) => of[i] === x);

/**
 * Native deposits from the traces of `blocks`: internal frames to watched addresses, less those a
 * `native_log` row of the same transaction already records (`logged`: the deposits collected from the
 * blocks' logs).
 */
export async function collectTraceDeposits(
  rpc: Rpc,
  spec: ChainSpec,
  watched: WatchedSet,
  blocks: RawBlock<RawTransaction>[],
  logged: readonly Deposit[],
  concurrency = 8,
): Promise<Deposit[]> {
  if (!spec.trace) return [];
  const perTx: { block: RawBlock<RawTransaction>; txHash: string; frames: ValueFrame[] }[] = [];
  if (spec.trace === "debug_traceTransaction") {
    const txs = blocks.flatMap((block) => block.transactions.filter(mayRunCode).map((tx) => ({ block, tx })));
    const traced = await mapLimit(txs, concurrency, async ({ block, tx }) => ({
      block,
      txHash: tx.hash.toLowerCase(),
      frames: valueFramesOfCallTree(await rpc.traceTransactionCalls(tx.hash)),
    }));
    perTx.push(...traced);
  } else {
    const traced = await mapLimit(blocks, concurrency, async (block) => {
      if (block.transactions.length === 0) return [];
      if (spec.trace === "debug_traceBlock") {
        const results = await rpc.traceBlockCalls(block.hash);
        if (results.length !== block.transactions.length) {
          throw new RpcCallError(
            spec.chainId,
            "debug_traceBlockByHash",
            `${results.length} traces for ${block.transactions.length} transactions`,
            {
              retryable: true,
            },
          );
        }
        return results.map((r, i) => {
          if (!r.result)
            throw new RpcCallError(spec.chainId, "debug_traceBlockByHash", `no trace for ${block.transactions[i]!.hash}: ${r.error}`, {
              retryable: true,
            });
          return { block, txHash: (r.txHash ?? block.transactions[i]!.hash).toLowerCase(), frames: valueFramesOfCallTree(r.result) };
        });
      }
      const traces = await rpc.traceBlockParity(BigInt(block.number));
      const byTx = new Map<string, ParityTrace[]>();
      for (const t of traces) {
        if (!t.transactionHash) continue; // block and uncle rewards: the balance net sees those
        if (t.blockHash && t.blockHash.toLowerCase() !== block.hash.toLowerCase()) {
          throw new RpcCallError(spec.chainId, "trace_block", `traces of block ${block.number} came from another block`, {
            retryable: true,
          });
        }
        const key = t.transactionHash.toLowerCase();
        byTx.set(key, [...(byTx.get(key) ?? []), t]);
      }
      return [...byTx].map(([txHash, ts]) => ({ block, txHash, frames: valueFramesOfParityTraces(ts) }));
    });
    perTx.push(...traced.flat());
  }

  // the deposit addresses' own LOG3s of each transaction: (to, from, amount) -> how many
  const logs = new Map<string, number>();
  for (const d of logged) if (d.source === "native_log") bump(logs, `${d.txHash}:${d.to}:${d.from}:${d.amount}`, 1);
  const out: Deposit[] = [];
  for (const { block, txHash, frames } of perTx) {
    for (const f of frames) {
      if (!watched.has(f.to)) continue;
      const key = `${txHash}:${f.to}:${f.from}:${f.value}`;
      if ((logs.get(key) ?? 0) > 0) {
        bump(logs, key, -1);
        continue;
      }
      out.push({
        chainId: spec.chainId,
        blockNumber: BigInt(block.number),
        blockHash: block.hash.toLowerCase(),
        txHash,
        logIndex: -2 - f.rank,
        token: NATIVE_TOKEN_LOWER,
        from: f.from,
        to: f.to,
        amount: f.value,
        source: "native_trace",
      });
    }
  }
  return out;
}

/** A plain 21,000-gas transfer runs no code and cannot contain an internal call. */
function mayRunCode(tx: RawTransaction): boolean {
  return tx.gas === undefined || BigInt(tx.gas) > 21_000n;
}

function bump(m: Map<string, number>, k: string, by: number) {
  m.set(k, (m.get(k) ?? 0) + by);
}
