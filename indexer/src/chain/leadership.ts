import pg from "pg";
import type { Db } from "../store/db.js";
import { silentLogger, type ChainLogger } from "./logger.js";
import { sleep } from "./retry.js";

/**
 * Leader election for chain followers that share one PostgreSQL: per chain, the follower holding the
 * session-level advisory lock `pg_try_advisory_lock(namespace, chainId)` ingests; the others wait and retry.
 *
 * The lock lives on a dedicated connection (a `pg.Client` of its own, not a pool client: a pool may close
 * or recycle an idle connection, and with it the lock), held for as long as the process leads. The session
 * ending (process killed, connection dropped, `pg_terminate_backend`) frees the lock at once on the server;
 * the holder learns of it from the client's `error`/`end` events or from a heartbeat query, and its lease's
 * `lost` signal fires so ingest stops. A write that was already under way is still fenced by the cursor
 * check in `moveCursor` (expected cursor, row lock): a deposed leader cannot write over the new one's blocks.
 *
 * PGlite is single-process: its follower always leads.
 */
export type LeadershipLease = {
  /** aborted when leadership is lost (connection dropped) or released */
  readonly lost: AbortSignal;
  /** the backend pid of the lock's connection (postgres), for diagnostics */
  readonly pid?: number;
  release(): Promise<void>;
};

export type FollowerLeadership = {
  readonly chainId: number;
  /** Waits until this process holds the chain's lock (retrying every `retryMs`); undefined when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<LeadershipLease | undefined>;
};

export type CreateFollowerLeadershipParameters = {
  chainId: number;
  /** the store: PGlite always leads; PostgreSQL needs `databaseUrl` for the lock's own connection */
  db: Pick<Db, "kind">;
  databaseUrl?: string;
  /** first key of the advisory lock (default {FOLLOWER_LOCK_NAMESPACE}); deployments sharing a database pick their own */
  namespace?: number;
  /** how often a non-leader tries again (default 5,000 ms) */
  retryMs?: number;
  /** how often the leader checks its connection (default 2,000 ms) */
  heartbeatMs?: number;
  logger?: ChainLogger;
};

/** "chnf" as an int4: the advisory-lock namespace of chain followers. */
export const FOLLOWER_LOCK_NAMESPACE = 0x63686e66;

/** The chain id as the lock's second int4 key (chain ids above 2^31 wrap; a collision only shares a leader). */
export const lockKeyOf = (chainId: number) => Number(BigInt.asIntN(32, BigInt(chainId)));

export function createFollowerLeadership({
  chainId,
  db,
  databaseUrl,
  namespace = FOLLOWER_LOCK_NAMESPACE,
  retryMs = 5_000,
  heartbeatMs = 2_000,
  logger = silentLogger,
}: CreateFollowerLeadershipParameters): FollowerLeadership {
  if (!Number.isInteger(namespace) || namespace !== (namespace | 0)) throw new TypeError(`lock namespace ${namespace} is not an int4`);
  if (db.kind === "postgres" && !databaseUrl) throw new TypeError("leader election on PostgreSQL needs databaseUrl for its own connection");
  const key = lockKeyOf(chainId);
  /** after a lost lease this process stands back for a while, so a peer that was waiting takes over */
  let standBackUntil = 0;

  async function tryOnce(): Promise<LeadershipLease | undefined> {
    if (db.kind === "pglite") {
      const lost = new AbortController();
      return { lost: lost.signal, release: async () => lost.abort() };
    }
    const client = new pg.Client({ connectionString: databaseUrl, keepAlive: true, application_name: `chain-follower-${chainId}` });
    // a dropped connection is reported through events, never as an uncaught error
    client.on("error", () => {});
    await client.connect();
    let got = false;
    try {
      const [row] = (
        await client.query<{ ok: boolean; pid: number }>("SELECT pg_try_advisory_lock($1::int, $2::int) AS ok, pg_backend_pid() AS pid", [
          namespace,
          key,
        ])
      ).rows;
      got = row!.ok;
      if (!got) return undefined;
      return lease(client, row!.pid);
    } finally {
      if (!got) await client.end().catch(() => {});
    }
  }

  function lease(client: pg.Client, pid: number): LeadershipLease {
    const lost = new AbortController();
    let released = false;
    const lose = (reason: string) => {
      if (lost.signal.aborted) return;
      if (!released) {
        logger.warn({ msg: "follower leadership lost", chain_id: chainId, reason });
        standBackUntil = Date.now() + 2 * retryMs;
      }
      lost.abort(new Error(reason));
      clearInterval(beat);
      client.end().catch(() => {});
    };
    client.on("error", (e) => lose(`lock connection error: ${e.message}`));
    client.on("end", () => lose("lock connection ended"));
    // a connection can also die silently (network partition): a query that fails or hangs says so
    const beat = setInterval(() => {
      const timer = setTimeout(() => lose("heartbeat timed out"), Math.max(heartbeatMs, 1_000) * 2);
      client.query("SELECT 1").then(
        () => clearTimeout(timer),
        (e: Error) => {
          clearTimeout(timer);
          lose(`heartbeat failed: ${e.message}`);
        },
      );
    }, heartbeatMs);
    beat.unref();
    logger.info({ msg: "follower leadership acquired", chain_id: chainId, pid });
    return {
      lost: lost.signal,
      pid,
      async release() {
        if (released) return;
        released = true;
        // ending the session frees the lock; an explicit unlock first lets a waiting peer in without waiting for the close
        await client.query("SELECT pg_advisory_unlock($1::int, $2::int)", [namespace, key]).catch(() => {});
        lose("released");
      },
    };
  }

  return {
    chainId,
    async acquire(signal) {
      let waitingLogged = false;
      if (standBackUntil > Date.now()) await sleep(standBackUntil - Date.now(), signal);
      while (!signal?.aborted) {
        try {
          const l = await tryOnce();
          if (l) return l;
          if (!waitingLogged) logger.info({ msg: "follower waiting for leadership", chain_id: chainId, retry_ms: retryMs });
          waitingLogged = true;
        } catch (e) {
          logger.warn({ msg: "follower leadership attempt failed", chain_id: chainId, error: (e as Error).message });
        }
        await sleep(retryMs, signal);
      }
      return undefined;
    },
  };
}
