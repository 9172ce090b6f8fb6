import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { buildApp } from "../api/app.js";
import { createFollowerLeadership } from "../chain/leadership.js";
import { combineHooks } from "../chain/combineHooks.js";
import { createChainFollower, type ChainFollower, type ChainFollowerHooks } from "../chain/follower.js";
import type { ChainConfig, GatewayConfig } from "../config.js";
import { createSecretBox } from "../crypto/secretBox.js";
import { createOrderHooks } from "../ingest/index.js";
import { createPaymentExpiryJob } from "../jobs/expirePaymentOrders.js";
import { createOutboxWorker, type OutboxWorker } from "../notify/index.js";
import type { Db } from "../store/db.js";
import { openStore } from "../store/open.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { createMoneyMovers, type MoneyMovers } from "./movers.js";

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
  metrics: Metrics;
  /** health of every part: the store answers, each follower's lag behind the head */
  health(): Promise<GatewayHealth>;
  stop(): Promise<void>;
};

export type GatewayHealth = {
  ok: boolean;
  database: boolean;
  /** callbacks waiting for something only a merchant can fix (a callback URL); they do not make the service unhealthy */
  webhooks?: { waiting: number; due: number };
  chains: { chainId: number; tip: string; confirmed: string; head: string; leading: boolean; running: boolean; error: string | null }[];
};

/**
 * Starts the whole gateway in this process: the store (migrated), the API, a follower per chain (its
 * hooks turn deposits into orders and vault events into sweeps and payouts), the webhook notifier, the
 * money movers and the expiry job. Every part also runs alone against a shared PostgreSQL: followers
 * elect one leader per chain, the notifier and the jobs claim work with `FOR UPDATE SKIP LOCKED`.
 */
export async function startGateway(args: StartGatewayParameters): Promise<Gateway> {
  const { config } = args;
  const parts = { api: true, followers: true, notifier: true, movers: true, expiry: true, ...args.parts };
  const logger = args.logger ?? pino({ level: config.logLevel, redact: ['req.headers["x-pay-sign"]', "req.headers.authorization"] });
  const db = args.db ?? (await openStore({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir }));
  const ownsDb = !args.db;
  const metrics = createMetrics();
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

  const movers = parts.movers && config.operatorKey ? createMoneyMovers({ db, config, logger: logger.child({ part: "movers" }), intervalMs: args.moverIntervalMs }) : undefined;

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
          leadership: createFollowerLeadership({ chainId: chain.chainId, db, databaseUrl: config.databaseUrl, logger: logger.child({ part: "leader" }) }),
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

  const health = async (): Promise<GatewayHealth> => {
    let database = true;
    try {
      await db.query("SELECT 1");
    } catch {
      database = false;
    }
    const heads = database
      ? new Map((await db.query<{ chain_id: string; head_number: string }>("SELECT chain_id, head_number FROM chain_cursors")).map((r) => [Number(r.chain_id), r.head_number]))
      : new Map<number, string>();
    const chains = followers.map((f) => {
      const s = f.status();
      return {
        chainId: f.chainId,
        tip: s.tip.toString(),
        confirmed: s.confirmed.toString(),
        head: heads.get(f.chainId) ?? "-1",
        leading: s.leading,
        running: running.has(f.chainId),
        error: followerErrors.get(f.chainId) ?? null,
      };
    });
    const webhooks = database && notifier ? await notifier.metrics().then((m) => ({ waiting: m.waitingEvents, due: m.dueEvents })).catch(() => undefined) : undefined;
    return { ok: database && chains.every((c) => c.running && !c.error), database, ...(webhooks ? { webhooks } : {}), chains };
  };

  metrics.gauge("follower_tip_block", "last block ingested per chain", () => followers.map((f) => [{ chain_id: f.chainId }, Number(f.status().tip)]));
  metrics.gauge("follower_confirmed_block", "confirmation boundary per chain", () =>
    followers.map((f) => [{ chain_id: f.chainId }, Number(f.status().confirmed)]),
  );
  if (notifier) {
    metrics.gauge("webhook_events", "webhook counters (delivered, failed attempts, dead, refused) and the due backlog", async () => {
      const m = await notifier.metrics();
      return [
        [{ kind: "delivered_total" }, m.deliveredTotal],
        [{ kind: "failed_attempts_total" }, m.failedAttemptsTotal],
        [{ kind: "dead_total" }, m.deadTotal],
        [{ kind: "refused_total" }, m.refusedTotal],
        [{ kind: "due" }, m.dueEvents],
        [{ kind: "waiting" }, m.waitingEvents],
      ];
    });
    metrics.gauge("webhook_lag_ms", "how overdue the oldest due webhook is", async () => [[{}, (await notifier.metrics()).lagMs]]);
  }
  metrics.gauge("orders", "orders per kind and state", async () => {
    const rows = await db.query<{ kind: string; status: number; n: string }>(
      `SELECT 'payment' AS kind, status, count(*) AS n FROM payment_orders GROUP BY status
       UNION ALL SELECT 'recharge', status, count(*) FROM recharge_orders GROUP BY status`,
    );
    return rows.map((r) => [{ kind: r.kind, status: r.status }, Number(r.n)]);
  });

  const app = await buildApp({
    db,
    config,
    logger: parts.api ? logger.child({ part: "api" }) : false,
    health,
    metrics: () => metrics.render(),
  });

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
  for (const f of followers) {
    running.add(f.chainId);
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
    health,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of stops) await s();
      if (ownsDb) await db.close();
    },
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
  };
}
