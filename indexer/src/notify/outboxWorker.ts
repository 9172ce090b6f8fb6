import { randomBytes } from "node:crypto";
import { pino, type Logger } from "pino";
import type { SecretBox } from "../crypto/secretBox.js";
import type { BaseError } from "../domain/errors.js";
import type { Db } from "../store/db.js";
import { claimDueEvents, findWebhookTarget, outboxBacklog, recordAttempt, type AttemptOutcome, type ClaimedEvent } from "../store/webhooks.js";
import { DEFAULT_RETRY_SCHEDULE_MS, retryDelayMs } from "./backoff.js";
import { createDeliverer, type DeliveryResult } from "./deliver.js";
import { webhookHeaders, webhookKey } from "./sign.js";

export type CreateOutboxWorkerParameters = {
  db: Db;
  /** opens the merchants' sealed webhook secrets (createSecretBox(config.masterKey)) */
  box: SecretBox;
  logger?: Logger;
  /** deliver to loopback/private/link-local… addresses too (tests, the local demo); default false */
  allowPrivateTargets?: boolean;
  /** delay after each failed attempt; default {@link DEFAULT_RETRY_SCHEDULE_MS} (about two days) */
  retryScheduleMs?: readonly number[];
  /** per attempt; default 10 s */
  timeoutMs?: number;
  /** how long a claim hides an event from other workers; must exceed timeoutMs; default timeoutMs + 30 s */
  leaseMs?: number;
  /** events claimed (and sent in parallel) per round; default 32 */
  batchSize?: number;
  /** wait between rounds when nothing was due; default 100 ms (one indexed query per round) */
  pollIntervalMs?: number;
};

export type NotifyMetrics = {
  /** counters of this process since start */
  deliveredTotal: number;
  failedAttemptsTotal: number;
  deadTotal: number;
  refusedTotal: number;
  /** from the database, all workers: live events due now, and how overdue the oldest is */
  dueEvents: number;
  lagMs: number;
};

export type OutboxWorker = {
  /** starts the delivery loop (idempotent) */
  start(): void;
  /** stops the loop after the round in flight; resolves when it has ended */
  stop(): Promise<void>;
  /** one round: claims due events and delivers them; resolves with the number of attempts made */
  runOnce(): Promise<number>;
  /** cuts the current poll wait short (e.g. right after writing an event) */
  wake(): void;
  metrics(): Promise<NotifyMetrics>;
};

const SECRET_CACHE_MS = 60_000;

/**
 * The webhook notifier: delivers `outbox_events` to the merchants, signed, in order per order, with
 * retries on the configured schedule, logging every attempt in `webhook_attempts`. Any number of workers
 * may run on one PostgreSQL: claims are `FOR UPDATE SKIP LOCKED` with a lease, and the HTTP call happens
 * after the claim committed (never inside a transaction).
 */
export function createOutboxWorker(args: CreateOutboxWorkerParameters): OutboxWorker {
  const { db, box } = args;
  const log = args.logger ?? pino({ level: "silent" });
  const schedule = args.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS;
  const timeoutMs = args.timeoutMs ?? 10_000;
  const leaseMs = args.leaseMs ?? timeoutMs + 30_000;
  const batchSize = args.batchSize ?? 32;
  const pollIntervalMs = args.pollIntervalMs ?? 100;
  const deliverer = createDeliverer({ timeoutMs, allowPrivateTargets: args.allowPrivateTargets ?? false });
  const counters = { deliveredTotal: 0, failedAttemptsTotal: 0, deadTotal: 0, refusedTotal: 0 };
  const keys = new Map<string, { key: Buffer; until: number }>();

  // keyed by the sealed bytes, so a rotated secret (merchant webhookSecret/rotate) is used at once
  const keyOf = (sealed: Buffer) => {
    const id = sealed.toString("base64");
    const cached = keys.get(id);
    if (cached && cached.until > Date.now()) return cached.key;
    const key = webhookKey(box.open(sealed));
    if (keys.size > 10_000) keys.clear();
    keys.set(id, { key, until: Date.now() + SECRET_CACHE_MS });
    return key;
  };

  async function attempt(e: ClaimedEvent): Promise<void> {
    const target = await findWebhookTarget(db, e);
    let outcome: AttemptOutcome;
    if (!target?.orderFound || !target.url) {
      const why = !target?.orderFound
        ? `no ${e.aggregateKind} order ${e.aggregateId} of merchant ${e.merchantId} to take a notify URL from`
        : e.aggregateKind !== "payment" && e.aggregateKind !== "refund"
          ? "the merchant has no recharge callback URL (merchants.recharge_notify_url) and the order names none"
          : "the order has no notify URL";
      outcome = { event: e, url: null, httpStatus: null, error: why, durationMs: 0, result: { kind: "dead" } };
    } else {
      const body = JSON.stringify(e.payload);
      let r: DeliveryResult;
      try {
        const key = keyOf(target.webhookSecretSealed);
        const headers = webhookHeaders({ key, eventId: e.id, timestamp: Math.floor(Date.now() / 1000), body });
        r = await deliverer.deliver({ url: target.url, headers, body });
      } catch (err) {
        // an unreadable secret (wrong master key?) is the operator's to fix: keep retrying on the schedule
        r = { status: null, error: `not sent: ${(err as BaseError).shortMessage ?? String(err)}`, retryable: true, durationMs: 0 };
      }
      const ok = r.status !== null && r.status >= 200 && r.status < 300;
      const delay = ok || !r.retryable ? null : retryDelayMs(schedule, e.backoffStep + 1);
      outcome = {
        event: e,
        url: target.url,
        httpStatus: r.status,
        error: r.error ?? (ok ? null : `HTTP ${r.status}: not a 2xx answer`),
        durationMs: r.durationMs,
        result: ok ? { kind: "delivered" } : delay === null ? { kind: "dead" } : { kind: "retry", retryInMs: delay },
      };
      if (!r.retryable) counters.refusedTotal++;
    }
    await recordAttempt(db, outcome);
    // never the URL's path or query (they may carry the merchant's tokens), the headers or the body
    const host = outcome.url ? safeHost(outcome.url) : null;
    const fields = { eventId: e.id, eventType: e.type, attemptNo: e.attemptNo, host, status: outcome.httpStatus, durationMs: Math.round(outcome.durationMs) };
    if (outcome.result.kind === "delivered") {
      counters.deliveredTotal++;
      log.info(fields, "webhook delivered");
    } else {
      counters.failedAttemptsTotal++;
      if (outcome.result.kind === "dead") {
        counters.deadTotal++;
        log.error({ ...fields, error: outcome.error }, "webhook dead: no more retries (re-send with …/notify)");
      } else {
        log.warn({ ...fields, error: outcome.error, retryInMs: outcome.result.retryInMs }, "webhook attempt failed");
      }
    }
  }

  async function runOnce(): Promise<number> {
    const claimed = await claimDueEvents(db, { limit: batchSize, leaseMs, claimToken: randomBytes(12).toString("hex") });
    await Promise.all(
      claimed.map((e) =>
        attempt(e).catch((err) => {
          // the claim stays until its lease ends, then the event is tried again
          log.error({ err, eventId: e.id }, "webhook attempt could not be completed");
        }),
      ),
    );
    return claimed.length;
  }

  let running = false;
  let loop: Promise<void> | null = null;
  let wakeUp: (() => void) | null = null;
  // a wake() during a round (events committed while it ran): the next round starts without a pause
  let woken = false;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wakeUp = null;
        resolve();
      }
      wakeUp = done;
    });

  return {
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        let failures = 0;
        while (running) {
          try {
            woken = false;
            const n = await runOnce();
            failures = 0;
            if (n >= batchSize || woken) continue;
          } catch (err) {
            failures++;
            log.warn({ err, failures }, "webhook round failed (database?); retrying");
          }
          if (running) await pause(failures ? Math.min(pollIntervalMs * 2 ** failures, 30_000) : pollIntervalMs);
        }
      })();
    },
    async stop() {
      running = false;
      wakeUp?.();
      await loop;
      loop = null;
      deliverer.close();
    },
    runOnce,
    wake() {
      woken = true;
      wakeUp?.();
    },
    async metrics() {
      const backlog = await outboxBacklog(db);
      return { ...counters, dueEvents: backlog.due, lagMs: backlog.oldestDueMs };
    },
  };
}

function safeHost(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

/** The metrics in Prometheus text format, for a `/metrics` endpoint. */
export function formatNotifyMetrics(m: NotifyMetrics): string {
  return [
    `# TYPE gateway_webhooks_delivered_total counter\ngateway_webhooks_delivered_total ${m.deliveredTotal}`,
    `# TYPE gateway_webhook_failed_attempts_total counter\ngateway_webhook_failed_attempts_total ${m.failedAttemptsTotal}`,
    `# TYPE gateway_webhooks_dead_total counter\ngateway_webhooks_dead_total ${m.deadTotal}`,
    `# TYPE gateway_webhooks_refused_total counter\ngateway_webhooks_refused_total ${m.refusedTotal}`,
    `# TYPE gateway_webhooks_due gauge\ngateway_webhooks_due ${m.dueEvents}`,
    `# TYPE gateway_webhooks_lag_ms gauge\ngateway_webhooks_lag_ms ${m.lagMs}`,
  ].join("\n") + "\n";
}
