import type { PublicClient } from "viem";
import type { GatewayConfig } from "../config.js";
import type { Queryable } from "../store/db.js";
import {
  checkChainLiveness,
  checkChainSetup,
  checkStore,
  checkVaultCode,
  checkWebhookBacklog,
  doctorClient,
  listStoreMerchants,
  type HeadState,
} from "./checks.js";
import { findingsForMerchant, reportOf, type DoctorReport, type Finding } from "./findings.js";

/** A follower as the doctor sees it (the runtime passes its followers' status). */
export type FollowerView = { chainId: number; running: boolean; error: string | null; tip: bigint; leading?: boolean };

export type CreateDoctorParameters = {
  config: GatewayConfig;
  /** the store; a command that cannot open it (PGlite held by the running gateway) passes `storeUnavailable` instead */
  db?: Queryable;
  /** why the store is not checked (merchant and webhook checks are skipped) */
  storeUnavailable?: string;
  /** the chain followers this process runs, if any: a stopped follower is a blocking failure */
  followers?: () => FollowerView[];
  /** RPC clients by chain id (default: one per chain with an rpcUrl, with the doctor's timeout) */
  clients?: Map<number, PublicClient>;
  /** called after each run, e.g. to log the problems */
  onReport?: (report: DoctorReport, kind: "liveness" | "full") => void;
  now?: () => number;
};

export type Doctor = {
  /** every check once */
  run(): Promise<DoctorReport>;
  /** the quick checks (store, RPC, chain id, head, followers, webhook backlog), merged with the last full run */
  runLiveness(): Promise<DoctorReport>;
  /** what a start must know before it serves: the quick checks and each vault's code (the full run follows) */
  runStartChecks(): Promise<DoctorReport>;
  /** the last report (undefined before the first run) */
  latest(): DoctorReport | undefined;
  /** what the last report says about one merchant, and the gateway's problems that hold it up */
  forMerchant(merchantId: bigint | string): Finding[];
  /** the operator's native balance per chain, from the last full run */
  readonly operatorBalances: ReadonlyMap<number, bigint>;
  /** the head each chain's RPC last answered, and when it last moved */
  readonly heads: ReadonlyMap<number, HeadState>;
  /** runs the liveness checks every `doctor.livenessIntervalSeconds` and everything every `doctor.setupIntervalSeconds` */
  start(): void;
  stop(): Promise<void>;
};

/**
 * The doctor: the checks of a gateway's setup and liveness in one place, shared by `npm run doctor`, the
 * start of `npm start` (which refuses a wrong chain or a missing vault) and `/health` (503 while a blocking
 * check fails). Every finding that is not ok says what to run to fix it.
 */
export function createDoctor(p: CreateDoctorParameters): Doctor {
  const { config, db } = p;
  const now = p.now ?? Date.now;
  const settings = config.doctor;
  const clients =
    p.clients ?? new Map(config.chains.filter((c) => c.rpcUrl).map((c) => [c.chainId, doctorClient(c, settings.rpcTimeoutMs)]));
  const heads = new Map<number, HeadState>();
  const operatorBalances = new Map<number, bigint>();
  let setup: Finding[] = [];
  let last: DoctorReport | undefined;
  /** chains whose RPC answered in the last liveness run: the setup checks skip the others */
  let reachable = new Set<number>();

  async function liveness(): Promise<Finding[]> {
    const findings: Finding[] = db
      ? await checkStore(db, config)
      : [
          {
            check: "store",
            status: "warn",
            blocking: false,
            message: `not checked: ${p.storeUnavailable ?? "no store given"}`,
            fix: "run the doctor where it can open the store, or read GET /health of the running gateway (its doctor's findings)",
          },
        ];
    const nextReachable = new Set<number>();
    const followers = new Map((p.followers?.() ?? []).map((f) => [f.chainId, f]));
    const perChain = await Promise.all(
      config.chains.map(async (chain): Promise<Finding[]> => {
        const client = clients.get(chain.chainId);
        if (!client) {
          return [
            {
              check: "rpc",
              status: "warn",
              blocking: false,
              chainId: chain.chainId,
              message: `chain ${chain.chainId} has no rpcUrl: it is not followed, so payments there are never seen`,
              fix: `set chains[].rpcUrl of "${chain.code}" in the config`,
            },
          ];
        }
        const r = await checkChainLiveness(chain, client, heads, now());
        if (r.reachable) nextReachable.add(chain.chainId);
        const f = followers.get(chain.chainId);
        if (f) r.findings.push(followerFinding(chain.chainId, f, heads.get(chain.chainId)?.head));
        return r.findings;
      }),
    );
    reachable = nextReachable;
    findings.push(...perChain.flat(), ...(db ? await checkWebhookBacklog(db, settings.webhookLagWarnSeconds) : []));
    return findings;
  }

  async function chainSetup(): Promise<Finding[]> {
    let merchants: Awaited<ReturnType<typeof listStoreMerchants>> = [];
    try {
      if (db) merchants = await listStoreMerchants(db);
    } catch {
      // the store finding says why
    }
    const perChain = await Promise.all(
      config.chains
        .filter((c) => reachable.has(c.chainId))
        .map(async (chain) => {
          const r = await checkChainSetup({ chain, client: clients.get(chain.chainId)!, operatorKey: config.operatorKey, merchants });
          if (r.operatorBalance !== undefined) operatorBalances.set(chain.chainId, r.operatorBalance);
          return r.findings;
        }),
    );
    return perChain.flat();
  }

  const publish = (live: Finding[], kind: "liveness" | "full") => {
    last = reportOf([...live, ...setup], new Date(now()));
    p.onReport?.(last, kind);
    return last;
  };

  let timers: NodeJS.Timeout[] = [];
  let running: Promise<unknown> = Promise.resolve();
  /** one run at a time: a slow RPC must not pile up checks */
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = running.then(fn, fn);
    running = next.catch(() => {});
    return next;
  };

  const run = () =>
    serial(async () => {
      const live = await liveness();
      setup = await chainSetup();
      return publish(live, "full");
    });
  const runLiveness = () => serial(async () => publish(await liveness(), "liveness"));
  const runStartChecks = () =>
    serial(async () => {
      const live = await liveness();
      const codes = await Promise.all(
        config.chains.filter((c) => reachable.has(c.chainId)).map((c) => checkVaultCode(c, clients.get(c.chainId)!)),
      );
      setup = codes.filter((f) => f.status !== "ok");
      return publish(live, "liveness");
    });

  return {
    run,
    runLiveness,
    runStartChecks,
    latest: () => last,
    forMerchant: (merchantId) => (last ? findingsForMerchant(last, merchantId) : []),
    operatorBalances,
    heads,
    start() {
      if (timers.length) return;
      const every = (seconds: number, fn: () => Promise<unknown>) => {
        const t = setInterval(() => void fn().catch(() => {}), seconds * 1000);
        t.unref();
        timers.push(t);
      };
      every(settings.livenessIntervalSeconds, runLiveness);
      every(settings.setupIntervalSeconds, run);
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      timers = [];
      await running;
    },
  };
}

function followerFinding(chainId: number, f: FollowerView, head: bigint | undefined): Finding {
  if (!f.running) {
    return {
      check: "follower",
      status: "fail",
      blocking: true,
      chainId,
      message: `the chain follower of chain ${chainId} stopped${f.error ? `: ${f.error}` : ""}`,
      fix: "read the gateway's log lines with `part: follower` for the cause, fix it and restart the gateway",
    };
  }
  if (f.leading === false)
    return { check: "follower", status: "ok", blocking: true, chainId, message: "another gateway process leads this chain's follower" };
  const lag = head !== undefined && f.tip >= 0n ? head - f.tip : undefined;
  return {
    check: "follower",
    status: lag !== undefined && lag > 100n ? "warn" : "ok",
    blocking: true,
    chainId,
    message: lag === undefined ? "the follower runs" : `the follower is ${lag} block(s) behind the head`,
    ...(lag !== undefined && lag > 100n
      ? { fix: "it is catching up; if the lag keeps growing, the RPC is too slow for eth_getLogs (see the follower's log lines)" }
      : {}),
  };
}
