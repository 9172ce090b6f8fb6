import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ChainFollower } from "../chain/follower.js";
import type { Doctor } from "../doctor/index.js";
import type { MoverOutcomes } from "./movers.js";
import type { OutboxWorker } from "../notify/index.js";
import type { Queryable } from "../store/db.js";

/** What `GET /metrics` shows (Prometheus text, prom-client). The README's Operations section lists every series. */
export type GatewayMetrics = {
  readonly registry: Registry;
  readonly contentType: string;
  render(): Promise<string>;
  /** one answered HTTP request (the route pattern, not the URL, so ids do not explode the label set) */
  observeRequest(method: string, route: string, statusCode: number, seconds: number): void;
  /** what a money movers pass did */
  recordMovers(result: MoverOutcomes): void;
};

export type CreateGatewayMetricsParameters = {
  db: Queryable;
  followers: ChainFollower[];
  notifier?: OutboxWorker;
  doctor?: Doctor;
};

/**
 * The gateway's metrics on a registry of its own: Node's process metrics (memory, CPU, event-loop lag, GC),
 * request latency, the followers' blocks and lag behind the head, webhooks, orders, sweeps, payouts, the
 * operator's balance and the doctor's problems. Gauges are read when scraped.
 */
export function createGatewayMetrics(p: CreateGatewayMetricsParameters): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const { followers, notifier, doctor, db } = p;

  const requests = new Histogram({
    name: "gateway_http_request_duration_seconds",
    help: "HTTP request latency by method, route pattern and status code",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });

  new Gauge({
    name: "gateway_follower_tip_block",
    help: "last block ingested per chain",
    labelNames: ["chain_id"] as const,
    registers,
    collect() {
      for (const f of followers) this.set({ chain_id: f.chainId }, Number(f.status().tip));
    },
  });
  new Gauge({
    name: "gateway_follower_confirmed_block",
    help: "confirmation boundary per chain: deposits at or below it are final",
    labelNames: ["chain_id"] as const,
    registers,
    collect() {
      for (const f of followers) this.set({ chain_id: f.chainId }, Number(f.status().confirmed));
    },
  });
  new Gauge({
    name: "gateway_chain_head_block",
    help: "the RPC's head per chain, as the doctor last read it",
    labelNames: ["chain_id"] as const,
    registers,
    collect() {
      for (const [chainId, h] of doctor?.heads ?? []) this.set({ chain_id: chainId }, Number(h.head));
    },
  });
  new Gauge({
    name: "gateway_chain_head_age_seconds",
    help: "seconds since the head of each chain last moved (the doctor fails past headStallSeconds)",
    labelNames: ["chain_id"] as const,
    registers,
    collect() {
      for (const [chainId, h] of doctor?.heads ?? []) this.set({ chain_id: chainId }, (Date.now() - h.movedAt) / 1000);
    },
  });
  new Gauge({
    name: "gateway_follower_head_lag_blocks",
    help: "how many blocks the follower's tip is behind the RPC's head",
    labelNames: ["chain_id"] as const,
    registers,
    collect() {
      for (const f of followers) {
        const head = doctor?.heads.get(f.chainId)?.head;
        const tip = f.status().tip;
        if (head !== undefined && tip >= 0n) this.set({ chain_id: f.chainId }, Number(head > tip ? head - tip : 0n));
      }
    },
  });

  if (notifier) {
    // the notifier keeps running totals; these counters advance by what changed since the last scrape
    const seen = { delivered: 0, failed: 0, dead: 0, refused: 0 };
    const webhooks = new Counter({
      name: "gateway_webhooks_total",
      help: "webhook deliveries by outcome (delivered, failed_attempt, dead, refused)",
      labelNames: ["outcome"] as const,
      registers,
    });
    const backlog = new Gauge({ name: "gateway_webhook_backlog", help: "webhook events due now and not yet delivered", registers });
    const waiting = new Gauge({
      name: "gateway_webhook_waiting",
      help: "callbacks waiting for something only the merchant can fix (no callback URL or no active API key)",
      registers,
    });
    new Gauge({
      name: "gateway_webhook_oldest_due_seconds",
      help: "how overdue the oldest due webhook is",
      registers,
      async collect() {
        const m = await notifier.metrics().catch(() => undefined);
        if (!m) return;
        for (const [outcome, key, total] of [
          ["delivered", "delivered", m.deliveredTotal],
          ["failed_attempt", "failed", m.failedAttemptsTotal],
          ["dead", "dead", m.deadTotal],
          ["refused", "refused", m.refusedTotal],
        ] as const) {
          if (total > seen[key]) webhooks.inc({ outcome }, total - seen[key]);
          seen[key] = total;
        }
        backlog.set(m.dueEvents);
        waiting.set(m.waitingEvents);
        this.set(m.lagMs / 1000);
      },
    });
  }

  new Gauge({
    name: "gateway_orders",
    help: "orders per kind and state",
    labelNames: ["kind", "status"] as const,
    registers,
    async collect() {
      const rows = await db
        .query<{ kind: string; status: number; n: string }>(
          `SELECT 'payment' AS kind, status, count(*) AS n FROM payment_orders GROUP BY status
           UNION ALL SELECT 'recharge', status, count(*) FROM recharge_orders GROUP BY status`,
        )
        .catch(() => []);
      this.reset();
      for (const r of rows) this.set({ kind: r.kind, status: String(r.status) }, Number(r.n));
    },
  });

  const sweeps = new Counter({
    name: "gateway_sweeps_total",
    help: "sweep decisions per chain: sent, not_worth_it (waits for more value), failed",
    labelNames: ["chain_id", "outcome"] as const,
    registers,
  });
  const sweptDeposits = new Counter({
    name: "gateway_swept_addresses_total",
    help: "deposit addresses included in sent sweeps",
    labelNames: ["chain_id"] as const,
    registers,
  });
  const payouts = new Counter({
    name: "gateway_payouts_total",
    help: "payout attempts per chain: sent, failed, waiting, already_paid",
    labelNames: ["chain_id", "outcome"] as const,
    registers,
  });
  const payoutTxs = new Counter({
    name: "gateway_payout_transactions_total",
    help: "payout transactions sent per chain: alone (payout or payoutBatch) or as a relay of several merchants' payouts and batches",
    labelNames: ["chain_id", "call"] as const,
    registers,
  });
  const moverErrors = new Counter({
    name: "gateway_mover_pass_errors_total",
    help: "money mover passes that threw",
    labelNames: ["chain_id"] as const,
    registers,
  });

  new Gauge({
    name: "gateway_operator_balance_wei",
    help: "the operator key's native balance per chain, as the doctor last read it",
    labelNames: ["chain_id"] as const,
    registers,
    collect() {
      for (const [chainId, wei] of doctor?.operatorBalances ?? []) this.set({ chain_id: chainId }, Number(wei));
    },
  });
  new Gauge({
    name: "gateway_doctor_problems",
    help: "the doctor's findings that are not ok, by status (fail, warn) and whether they block /health",
    labelNames: ["status", "blocking"] as const,
    registers,
    collect() {
      const report = doctor?.latest();
      if (!report) return;
      for (const status of ["fail", "warn"] as const) {
        for (const blocking of [true, false]) {
          this.set(
            { status, blocking: String(blocking) },
            report.findings.filter((f) => f.status === status && f.blocking === blocking).length,
          );
        }
      }
    },
  });
  new Gauge({
    name: "gateway_healthy",
    help: "1 while /health answers 200, 0 while it answers 503",
    registers,
    collect() {
      const report = doctor?.latest();
      if (report) this.set(report.healthy ? 1 : 0);
    },
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeRequest(method, route, statusCode, seconds) {
      requests.observe({ method, route, status_code: String(statusCode) }, seconds);
    },
    recordMovers(result) {
      for (const r of result) {
        const chain_id = String(r.chainId);
        if (r.error) moverErrors.inc({ chain_id });
        for (const s of r.sweeps) {
          if (s.outcome === "empty") continue;
          sweeps.inc({ chain_id, outcome: s.outcome });
          if (s.outcome === "sent") sweptDeposits.inc({ chain_id }, s.entries);
        }
        const sent = new Map<string, "alone" | "relay">();
        for (const o of r.payouts) {
          payouts.inc({ chain_id, outcome: o.outcome });
          if (o.outcome === "sent") sent.set(o.txHash, o.relayId ? "relay" : "alone");
        }
        for (const call of sent.values()) payoutTxs.inc({ chain_id, call });
      }
    },
  };
}
