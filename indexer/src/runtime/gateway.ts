import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { buildApp } from "../api/app.js";
import { createFollowerLeadership } from "../chain/leadership.js";
import { combineHooks } from "../chain/combineHooks.js";
import { createChainFollower, type ChainFollower, type ChainFollowerHooks } from "../chain/follower.js";
import { mountConsole } from "../console/plugin.js";
import { ConfigError, type ChainConfig, type GatewayConfig } from "../config.js";
import { createSecretBox } from "../crypto/secretBox.js";
import { createDoctor, formatReport, type CheckName, type Doctor, type Finding } from "../doctor/index.js";
import { createOrderHooks } from "../ingest/index.js";
import { createPaymentExpiryJob } from "../jobs/expirePaymentOrders.js";
import { createOutboxWorker, type OutboxWorker } from "../notify/index.js";
import type { Db } from "../store/db.js";
import { createGatewayMetrics, type GatewayMetrics } from "./metrics.js";
import { createMoneyMovers, type MoneyMovers } from "./movers.js";
import { openGatewayStore } from "./store.js";

/** What runs, so a test or the demo can switch parts off or speed them up. */
export type GatewayParts = {
  /** the merchant API and payment pages, listening on config.host:config.port (default true) */
  api?: boolean;
  /** one chain follower per configured chain that has an `rpcUrl` (default true) */
  followers?: boolean;
  /** the webhook outbox worker (default true) */
  notifier?: boolean;
  /** sweeps and payouts, when `config.operatorKey` is set (default true) */
  movers?: boolean;
  /** the payment expiry job (default true) */
  expiry?: boolean;
  /** the doctor's checks at start and every few seconds, feeding /health and /metrics (default true) */
  doctor?: boolean;
};

export type StartGatewayParameters = {
  config: GatewayConfig;
  /** an open store; default: opened (and migrated) from the config */
  db?: Db;
  logger?: Logger;
  parts?: GatewayParts;
  /** follower head polling (default 2,000 ms; the demo uses less) */
  pollIntervalMs?: number;
  /** webhook retry delays (default: about two days; the demo and tests use shorter) */
  retryScheduleMs?: readonly number[];
  /** how often the movers look for work (default 5,000 ms) */
  moverIntervalMs?: number;
  /** how often due orders are expired (default 5,000 ms) */
  expiryIntervalMs?: number;
};

export type Gateway = {
  app: FastifyInstance;
  db: Db;
  /** the API's base URL when it listens */
  url: string | undefined;
  followers: ChainFollower[];
  notifier: OutboxWorker | undefined;
  movers: MoneyMovers | undefined;
  metrics: GatewayMetrics;
  /** the doctor of this gateway (`doctor.forMerchant(id)` for a merchant's view), unless switched off */
  doctor: Doctor | undefined;
  /** health of every part: the store answers, each follower runs, and no blocking doctor finding fails */
  health(): Promise<GatewayHealth>;
  stop(): Promise<void>;
};

export type GatewayHealth = {
  ok: boolean;
  database: boolean;
  /** callbacks waiting for something only a merchant can fix (a callback URL); they do not make the service unhealthy */
  webhooks?: { waiting: number; due: number };
  chains: {
    chainId: number;
    tip: string;
    confirmed: string;
    head: string;
    lag: string;
    leading: boolean;
    running: boolean;
    /** whether the chain's RPC answers (see the follower's status) */
    rpc: "up" | "down";
    /** the follower stopped with this error, else its last tick or RPC error (null when none) */
    error: string | null;
  }[];
  /** the doctor's last report: the problems (with their fix) and when it checked */
  doctor?: { ok: boolean; healthy: boolean; checkedAt: string; problems: Finding[] };
};

/** Findings that stop the start: the config names something the chain or the store contradicts. */
const REFUSE_TO_START: ReadonlySet<CheckName> = new Set(["chain-id", "vault-code", "master-key"]);

/**
 * Starts the whole gateway in this process: the store (migrated), the API, a follower per chain (its
 * hooks turn deposits into orders and vault events into sweeps and payouts), the webhook notifier, the
 * money movers and the expiry job. Every part also runs alone against a shared PostgreSQL: followers
 * elect one leader per chain, the notifier and the jobs claim work with `FOR UPDATE SKIP LOCKED`.
 */
export async function startGateway(args: StartGatewayParameters): Promise<Gateway> {
  const { config } = args;
  const logger = args.logger ?? pino({ level: config.logLevel, redact: ['req.headers["x-pay-sign"]', "req.headers.authorization"] });
  const parts = { api: true, followers: true, notifier: true, movers: true, expiry: true, doctor: true, ...args.parts };
  const db = args.db ?? (await openGatewayStore(config, { who: "the gateway" }));
  const ownsDb = !args.db;
  const box = createSecretBox(config.masterKey);
  const stops: (() => Promise<void> | void)[] = [];

  const notifier = parts.notifier
    ? createOutboxWorker({
        db,
        config,
        box,
        logger: logger.child({ part: "notifier" }),
        allowPrivateTargets: config.allowPrivateWebhookTargets,
        retryScheduleMs: args.retryScheduleMs ?? config.webhookRetryScheduleMs,
        timeoutMs: config.webhookTimeoutMs,
        leaseMs: config.webhookLeaseMs,
      })
    : undefined;

  const movers =
    parts.movers && config.operatorKey
      ? createMoneyMovers({
          db,
          config,
          logger: logger.child({ part: "movers" }),
          intervalMs: args.moverIntervalMs,
          onPass: (o) => metrics.recordMovers(o),
        })
      : undefined;

  // one follower per chain with an RPC; its hooks write order changes and their webhooks in the block's transaction
  const followers: ChainFollower[] = [];
  const followerErrors = new Map<number, string>();
  const running = new Set<number>();
  if (parts.followers) {
    for (const chain of config.chains.filter((c) => c.rpcUrl)) {
      const hooks: ChainFollowerHooks[] = [createOrderHooks({ poolCooldownSeconds: config.poolCooldownSeconds })];
      if (movers) hooks.push(movers.hooksFor(chain.chainId));
      // the block's webhooks are in the outbox once its transaction commits: deliver them now, not at the next poll
      if (notifier) hooks.push({ afterCommit: () => notifier.wake() });
      followers.push(
        createChainFollower({
          db,
          chain: followerChainOf(chain),
          hooks: combineHooks(...hooks),
          logger: logger.child({ part: "follower" }),
          pollIntervalMs: args.pollIntervalMs ?? config.pollIntervalMs,
          leadership: createFollowerLeadership({
            chainId: chain.chainId,
            db,
            databaseUrl: config.databaseUrl,
            logger: logger.child({ part: "leader" }),
          }),
          onProgress: (p) => logger.info({ msg: "backfill progress", chain_id: chain.chainId, ...p }),
        }),
      );
    }
  }

  const expiry = parts.expiry
    ? createPaymentExpiryJob({
        db,
        poolCooldownSeconds: config.poolCooldownSeconds,
        intervalMs: args.expiryIntervalMs,
        onError: (err) => logger.error({ err }, "payment expiry failed"),
      })
    : undefined;

  let followersStarted = false;
  const doctor = parts.doctor
    ? createDoctor({
        config,
        db,
        followers: () =>
          (followersStarted ? followers : []).map((f) => ({
            chainId: f.chainId,
            running: running.has(f.chainId),
            error: followerErrors.get(f.chainId) ?? null,
            tip: f.status().tip,
            leading: f.status().leading,
          })),
        onReport: logChanges(logger.child({ part: "doctor" })),
      })
    : undefined;
  if (doctor) {
    // the same checks as `npm run doctor`: a chain or a store that contradicts the config stops the start
    // (the quick ones now; the full run, with every merchant and token, follows once the API listens)
    const report = await doctor.runStartChecks();
    const refused = report.findings.filter((f) => f.status === "fail" && REFUSE_TO_START.has(f.check));
    if (refused.length) {
      if (ownsDb) await db.close();
      throw new ConfigError(`the gateway refuses to start:\n${formatReport({ ...report, findings: refused })}`);
    }
  }

  const health = async (): Promise<GatewayHealth> => {
    let database = true;
    try {
      await db.query("SELECT 1");
    } catch {
      database = false;
    }
    const heads = database
      ? new Map(
          (await db.query<{ chain_id: string; head_number: string }>("SELECT chain_id, head_number FROM chain_cursors")).map((r) => [
            Number(r.chain_id),
            r.head_number,
          ]),
        )
      : new Map<number, string>();
    const chains = followers.map((f) => {
      const s = f.status();
      const head = s.head >= 0n ? s.head.toString() : (heads.get(f.chainId) ?? "-1");
      return {
        chainId: f.chainId,
        tip: s.tip.toString(),
        confirmed: s.confirmed.toString(),
        head,
        lag: s.lag.toString(),
        leading: s.leading,
        running: running.has(f.chainId),
        rpc: s.rpcUp ? ("up" as const) : ("down" as const),
        error: followerErrors.get(f.chainId) ?? (s.rpcUp ? null : s.lastError),
      };
    });
    // one chain's RPC being down is shown per chain (`rpc`) and by the doctor, not a reason to restart the follower
    const report = doctor?.latest();
    const webhooks =
      database && notifier
        ? await notifier
            .metrics()
            .then((m) => ({ waiting: m.waitingEvents, due: m.dueEvents }))
            .catch(() => undefined)
        : undefined;
    return {
      ok: database && chains.every((c) => c.running && !followerErrors.has(c.chainId)) && (report?.healthy ?? true),
      database,
      ...(webhooks ? { webhooks } : {}),
      chains,
      ...(report
        ? {
            doctor: {
              ok: report.ok,
              healthy: report.healthy,
              checkedAt: report.checkedAt,
              problems: report.findings.filter((f) => f.status !== "ok"),
            },
          }
        : {}),
    };
  };

  const metrics: GatewayMetrics = createGatewayMetrics({ db, followers, notifier, doctor });

  const app = await buildApp({
    db,
    config,
    logger: parts.api ? logger.child({ part: "api" }) : false,
    health,
    metrics: () => metrics.render(),
  });
  app.addHook("onResponse", async (request, reply) => {
    metrics.observeRequest(request.method, request.routeOptions.url ?? "(no route)", reply.statusCode, reply.elapsedTime / 1000);
  });
  // the merchant console at /console: same app, same store; a re-send wakes the notifier
  await mountConsole(app, { db, config, wakeNotifier: () => notifier?.wake() });

  // start in dependency order: the API first (merchants can create orders), then the workers
  let url: string | undefined;
  if (parts.api) {
    url = await app.listen({ host: config.host, port: config.port });
    logger.info({ msg: "gateway listening", url });
  }
  stops.push(() => app.close());
  if (notifier) {
    notifier.start();
    stops.unshift(() => notifier.stop());
  }
  if (expiry) {
    expiry.start();
    stops.unshift(() => expiry.stop());
  }
  if (movers) {
    movers.start();
    stops.unshift(() => movers.stop());
  }
  for (const f of followers) running.add(f.chainId);
  followersStarted = true;
  if (doctor) {
    void doctor.run().catch((err) => logger.error({ err }, "doctor run failed"));
    doctor.start();
    stops.unshift(() => doctor.stop());
  }
  for (const f of followers) {
    f.run()
      .catch((err) => {
        followerErrors.set(f.chainId, (err as Error).message);
        logger.error({ err, chain_id: f.chainId }, "chain follower stopped");
      })
      .finally(() => running.delete(f.chainId));
    stops.unshift(() => f.stop());
  }

  let stopped = false;
  return {
    app,
    db,
    url,
    followers,
    notifier,
    movers,
    metrics,
    doctor,
    health,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of stops) await s();
      if (ownsDb) await db.close();
    },
  };
}

/** Logs each problem when it appears (with its fix) and when it clears, not on every run. */
function logChanges(logger: Logger) {
  let known = new Map<string, Finding>();
  return (report: { findings: Finding[] }) => {
    const now = new Map(
      report.findings
        .filter((f) => f.status !== "ok")
        .map((f) => [`${f.check}|${f.chainId ?? ""}|${f.merchantId ?? ""}|${f.token ?? ""}`, f]),
    );
    for (const [key, f] of now) {
      if (known.get(key)?.status === f.status) continue;
      const line = { check: f.check, chain_id: f.chainId, merchant_id: f.merchantId, token: f.token, blocking: f.blocking, fix: f.fix };
      if (f.status === "fail") logger.error(line, f.message);
      else logger.warn(line, f.message);
    }
    for (const [key, f] of known)
      if (!now.has(key)) logger.info({ check: f.check, chain_id: f.chainId, merchant_id: f.merchantId }, `resolved: ${f.check}`);
    known = now;
  };
}

function followerChainOf(c: ChainConfig) {
  return {
    chainId: c.chainId,
    rpcUrl: c.rpcUrl!,
    wsUrl: c.wsUrl,
    vault: c.vault,
    tokens: c.tokens.map((t) => ({ address: t.address })),
    confirmations: c.confirmations,
    finality: c.finality,
    startBlock: c.startBlock === undefined ? undefined : BigInt(c.startBlock),
    trace: c.trace,
    balancePoll: c.balancePoll,
  };
}
