import type { Db, Queryable } from "../store/db.js";
import { expectedBalances, loadHotNativeAddresses, nextHandedOutAddresses, type BlockRef } from "../store/chain.js";
import type { ChainSpec } from "./collect.js";
import { NATIVE_TOKEN_LOWER, type Deposit } from "./decode.js";
import type { ChainLogger } from "./logger.js";
import type { BalanceQuery, Rpc } from "./rpc.js";

/**
 * The balance safety net: money at a deposit address that the recorded deposits (less what left it: sweeps,
 * rescues) do not explain becomes a deposit of its own kind, `source = 'balance'`, found at the block it was
 * read at. It catches native coin a contract sent by an internal call when the chain has no traces, and
 * anything the follower missed for another reason (an RPC that dropped logs, a bug).
 *
 * What is read, at the block the follower has just written (the newest of a tick, by hash):
 * - hot, every block, when the chain has no traces: the addresses of open native-coin payment orders and of
 *   recently used recharge addresses (user created, or a native recharge, within `recentSeconds`), at most
 *   `hotLimit` of them;
 * - the slow cycle: every `cycleMs`, the next `cycleBatch` deposit addresses ever handed out (leased pool
 *   addresses, recharge addresses), in every configured token, walking them all in address order;
 * - addresses money left since the last check (a sweep takes the whole balance, unexplained money included,
 *   so the address is read right after, while the difference still shows).
 *
 * The follower reads after the tick's blocks and confirmations are written (a success webhook never waits
 * for it), at its tip's hash; the comparison (`found`) runs in a transaction that checks the cursor is still
 * at that block, so the expected balance and the reading are of the same block. A 'balance' row is a
 * chain_deposits row like any other: attributed by the order hooks, confirmed at depth, removed by a reorg of
 * its block. When the real transfer is recorded later (a rescan, a trace), it is absorbed by the balance row
 * (store/chain.ts `absorbIntoBalanceDeposits`) and nothing is counted twice.
 */
export type BalancePollConfig = {
  /** read hot addresses every block (default: when the chain accepts its native coin and has no traces) */
  hot?: boolean;
  /** most hot addresses read per block (default 1,000; open orders first, the rest wait for the slow cycle) */
  hotLimit?: number;
  /** how long a recharge address stays hot after its user was created or its last native recharge (default 86,400 s) */
  recentSeconds?: number;
  /** one slice of the slow cycle per this interval, ms (default 60,000; 0 turns the cycle off) */
  cycleMs?: number;
  /** addresses per slice; each is read in every configured token (default 200) */
  cycleBatch?: number;
};

export type BalanceReading = { block: BlockRef; queries: BalanceQuery[]; balances: (bigint | undefined)[] };

export type BalanceChecker = {
  /** Reads the balances due at `block` (hot, slow-cycle slice, addresses money left); undefined when nothing is due. */
  read(block: BlockRef): Promise<BalanceReading | undefined>;
  /** Addresses money left in written blocks: read at the next check. */
  noteOutflows(addresses: Iterable<{ address: string; token: string }>): void;
  /** In a transaction at the block (its rows written): the unexplained amounts as 'balance' deposits. */
  found(tx: Queryable, reading: BalanceReading): Promise<Deposit[]>;
  /** a reading was written: what it covered leaves the queue */
  done(reading: BalanceReading): void;
  readonly stats: { reads: number; addressesRead: number; found: number; short: number };
};

export function createBalanceChecker(args: {
  db: Db;
  rpc: Rpc;
  spec: ChainSpec;
  config?: BalancePollConfig;
  logger: ChainLogger;
}): BalanceChecker {
  const { db, rpc, spec, logger } = args;
  const c = args.config ?? {};
  const hot = c.hot ?? (spec.native && !spec.trace);
  const hotLimit = c.hotLimit ?? 1_000;
  const recentSeconds = c.recentSeconds ?? 86_400;
  const cycleMs = c.cycleMs ?? 60_000;
  const cycleBatch = c.cycleBatch ?? 200;
  const tokens = [...(spec.native ? [NATIVE_TOKEN_LOWER] : []), ...spec.tokens];
  const pendingOutflows = new Map<string, BalanceQuery>();
  let cursor = "";
  let lastCycle = 0;
  let cycleSlice: string[] = [];
  const stats = { reads: 0, addressesRead: 0, found: 0, short: 0 };
  const shortWarned = new Set<string>();

  return {
    stats,
    noteOutflows(list) {
      for (const q of list) pendingOutflows.set(`${q.address}:${q.token}`, { address: q.address, token: q.token });
    },

    async read(block) {
      // after a long backfill many addresses may be due: at most hotLimit of them per check, the rest next time
      const queries = new Map<string, BalanceQuery>();
      for (const [key, q] of pendingOutflows) {
        if (queries.size >= hotLimit) break;
        queries.set(key, q);
      }
      if (hot) {
        for (const address of await loadHotNativeAddresses(db, spec.chainId, { recentSeconds, limit: hotLimit })) {
          queries.set(`${address}:${NATIVE_TOKEN_LOWER}`, { address, token: NATIVE_TOKEN_LOWER });
        }
      }
      cycleSlice = [];
      if (cycleMs > 0 && tokens.length && Date.now() - lastCycle >= cycleMs) {
        cycleSlice = await nextHandedOutAddresses(db, spec.chainId, cursor, cycleBatch);
        for (const address of cycleSlice) for (const token of tokens) queries.set(`${address}:${token}`, { address, token });
        if (cycleSlice.length === 0) {
          // past the last address (or none handed out yet): start over at the next slice
          lastCycle = Date.now();
          cursor = "";
        }
      }
      if (queries.size === 0) return undefined;
      const list = [...queries.values()];
      const balances = await rpc.balances(list, block.hash);
      stats.reads++;
      stats.addressesRead += list.length;
      return { block, queries: list, balances };
    },

    async found(tx, { block, queries, balances }) {
      const readable = queries.filter((_, i) => balances[i] !== undefined);
      const expected = await expectedBalances(tx, spec.chainId, readable, block.number);
      const out: Deposit[] = [];
      queries.forEach((q, i) => {
        const held = balances[i];
        if (held === undefined) return;
        const key = `${q.address}:${q.token}`;
        const diff = held - (expected.get(key) ?? 0n);
        if (diff > 0n) {
          out.push({
            chainId: spec.chainId,
            blockNumber: block.number,
            blockHash: block.hash,
            txHash: `balance:${block.number}:${q.address}:${q.token}`,
            logIndex: 0,
            token: q.token,
            from: "",
            to: q.address,
            amount: diff,
            source: "balance",
          });
        } else if (diff < 0n) {
          // less than recorded: an outflow not recorded, or a token that takes fees from holders; reconcile shows it
          stats.short++;
          if (!shortWarned.has(key)) {
            shortWarned.add(key);
            logger.warn({
              msg: "deposit address holds less than its recorded deposits",
              chain_id: spec.chainId,
              address: q.address,
              token: q.token,
              block: String(block.number),
              short_by: String(-diff),
            });
          }
        }
      });
      stats.found += out.length;
      if (out.length) {
        logger.warn({
          msg: "deposits found by balance",
          chain_id: spec.chainId,
          block: String(block.number),
          deposits: out.map((d) => ({ to: d.to, token: d.token, amount: String(d.amount) })),
        });
      }
      return out;
    },

    done(reading) {
      for (const q of reading.queries) pendingOutflows.delete(`${q.address}:${q.token}`);
      if (cycleSlice.length) {
        lastCycle = Date.now();
        cursor = cycleSlice.length < cycleBatch ? "" : cycleSlice[cycleSlice.length - 1]!;
        cycleSlice = [];
      }
    },
  };
}
