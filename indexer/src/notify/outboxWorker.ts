import { randomBytes } from "node:crypto";
import { pino, type Logger } from "pino";
import type { GatewayConfig } from "../config.js";
import type { SecretBox } from "../crypto/secretBox.js";
import type { BaseError } from "../domain/errors.js";
import type { Db } from "../store/db.js";
import { getPaymentViewById } from "../store/paymentOrders.js";
import { getPayoutApplicationByNo, type PayoutOrderKind } from "../store/payoutOrders.js";
import { getRechargeOrderById } from "../store/rechargeOrders.js";
import {
  claimDueEvents,
  findWebhookTarget,
  outboxBacklog,
  recordAttempt,
  type AttemptOutcome,
  type ClaimedEvent,
} from "../store/webhooks.js";
import { createWireContext, type WireContext } from "../wire/context.js";
import { presentPayment, presentPayout, presentRecharge } from "../wire/presenters.js";
import { isCallbackTransition, type CallbackKind } from "../wire/status.js";
import { DEFAULT_RETRY_SCHEDULE_MS, retryDelayMs } from "./backoff.js";
import { createDeliverer, type DeliveryResult } from "./deliver.js";
import { callbackHeaders, isAcknowledgement, webhookKey } from "./sign.js";

export type CreateOutboxWorkerParameters = {
  db: Db;
  /** the chains, tokens and payment page: a callback carries the object detail answers (src/wire/) */
  config: Pick<GatewayConfig, "chains" | "payPageUrl">;
  /** opens the merchants' sealed API and webhook secrets (createSecretBox(config.masterKey)) */
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
  /** how long a callback with no URL (or no API key to sign with) waits before it looks again; default 60 s */
  waitMs?: number;
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
  /** live events waiting for something only the merchant can fix (a callback URL) */
  waitingEvents: number;
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
 * The callback notifier: delivers `outbox_events` to the merchants as Pay Protocol sends callbacks, in order
 * per order, with retries on the configured schedule, logging every attempt in `webhook_attempts`.
 *
 * - Which events call back: a status change Pay Protocol calls back on (wire/status.ts `isCallbackTransition`,
 *   reference section 4), a snapshot or a re-send (`…/notify`); every event when the merchant set
 *   callbackAllEvents. Any other event is marked suppressed without a request.
 * - The body: the object the matching detail route answers, read and presented when the attempt is made
 *   (src/wire/presenters.ts, the same function as detail), as compact JSON.
 * - The headers: notify/sign.ts `callbackHeaders` (X-PAY-* with the merchant's newest API key, X-PAY-EVENT-ID,
 *   Standard Webhooks). Acknowledged by a 2xx answer whose body is `success` or `"success"`.
 * - No URL (a recharge before the merchant set its recharge callback URL) or no active API key: the event
 *   waits, re-checked every `waitMs`, logged once per reason, counted in the metrics, never dead.
 *
 * Any number of workers may run on one PostgreSQL: claims are `FOR UPDATE SKIP LOCKED` with a lease, and the
 * HTTP call happens after the claim committed (never inside a transaction).
 */
export function createOutboxWorker(args: CreateOutboxWorkerParameters): OutboxWorker {
  const { db, box } = args;
  const log = args.logger ?? pino({ level: "silent" });
  const schedule = args.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS;
  const timeoutMs = args.timeoutMs ?? 10_000;
  const leaseMs = args.leaseMs ?? timeoutMs + 30_000;
  const batchSize = args.batchSize ?? 32;
  const waitMs = args.waitMs ?? 60_000;
  const pollIntervalMs = args.pollIntervalMs ?? 100;
  const deliverer = createDeliverer({ timeoutMs, allowPrivateTargets: args.allowPrivateTargets ?? false });
  const counters = { deliveredTotal: 0, failedAttemptsTotal: 0, deadTotal: 0, refusedTotal: 0 };
  const keys = new Map<string, { value: unknown; until: number }>();

  // keyed by the sealed bytes, so a rotated secret (webhookSecret/rotate, a new API key) is used at once
  const opened = <T>(sealed: Buffer, open: (plain: string) => T): T => {
    const id = sealed.toString("base64");
    const cached = keys.get(id);
    if (cached && cached.until > Date.now()) return cached.value as T;
    const value = open(box.open(sealed));
    if (keys.size > 10_000) keys.clear();
    keys.set(id, { value, until: Date.now() + SECRET_CACHE_MS });
    return value;
  };

  let wire: Promise<WireContext> | undefined;
  const wireContext = () => (wire ??= createWireContext(db, args.config).catch((e) => ((wire = undefined), Promise.reject(e))));

  /** The object the detail route answers now, or null when the order is gone. */
  async function objectOf(e: ClaimedEvent): Promise<unknown | null> {
    const w = await wireContext();
    const present = async (): Promise<unknown | null> => {
      switch (e.aggregateKind) {
        case "payment": {
          const v = await getPaymentViewById(db, e.aggregateId);
          return v && presentPayment(w, v);
        }
        case "recharge": {
          const r = await getRechargeOrderById(db, e.aggregateId);
          return r && presentRecharge(w, r);
        }
        default: {
          if (!/^[0-9]{1,18}$/.test(e.aggregateId)) return null;
          const a = await getPayoutApplicationByNo(db, e.aggregateKind as PayoutOrderKind, BigInt(e.aggregateId));
          return a && presentPayout(w, a);
        }
      }
    };
    const o = (await present()) as { currencyId?: number } | null;
    // a token another process numbered after this one loaded the list: reload once
    if (o && o.currencyId === 0) {
      await w.refresh();
      return present();
    }
    return o;
  }

  /** Whether the event is a callback: a status change Pay Protocol calls back on, a snapshot, a re-send, or any event the merchant asked for. */
  function isCallback(e: ClaimedEvent, allEvents: boolean): boolean {
    if (allEvents || e.forced || e.type.endsWith(".snapshot")) return true;
    if (!e.type.endsWith(".status_changed")) return false;
    const data = ((e.payload as { data?: { from?: number | null; status?: number } } | null)?.data ?? {}) as {
      from?: number | null;
      status?: number;
    };
    return isCallbackTransition(e.aggregateKind as CallbackKind, data.from, data.status);
  }

  async function attempt(e: ClaimedEvent): Promise<void> {
    const target = await findWebhookTarget(db, e);
    let outcome: AttemptOutcome;
    const wait = (reason: string): AttemptOutcome => ({
      event: e,
      url: target?.url ?? null,
      httpStatus: null,
      error: reason,
      durationMs: 0,
      result: { kind: "wait", waitMs, reason, logged: e.waitingReason === reason },
    });
    const dead = (): AttemptOutcome => ({
      event: e,
      url: null,
      httpStatus: null,
      error: `no ${e.aggregateKind} ${e.aggregateId} of merchant ${e.merchantId} to call back about`,
      durationMs: 0,
      result: { kind: "dead" },
    });
    let object: unknown | null;
    if (!target?.orderFound) {
      outcome = dead();
    } else if (!isCallback(e, target.callbackAllEvents)) {
      outcome = { event: e, url: null, httpStatus: null, error: null, durationMs: 0, result: { kind: "suppressed" } };
    } else if (!target.url) {
      outcome = wait(
        e.aggregateKind === "payment" || e.aggregateKind === "refund"
          ? "waiting: the order has no notify URL"
          : "waiting: the merchant has no recharge callback URL (set rechargeNotifyUrl with merchant/settings/update) and the order names none",
      );
    } else if (!target.apiKey) {
      outcome = wait("waiting: the merchant has no active API key to sign X-PAY-SIGN with (ask the operator to create one)");
    } else if ((object = await objectOf(e)) === null) {
      outcome = dead();
    } else {
      const body = JSON.stringify(object);
      let r: DeliveryResult;
      try {
        const headers = callbackHeaders({
          apiKey: target.apiKey.keyId,
          apiSecret: opened(target.apiKey.secretSealed, (s) => s),
          webhookKey: opened(target.webhookSecretSealed, webhookKey),
          eventId: e.id,
          timestamp: Math.floor(Date.now() / 1000),
          url: target.url,
          body,
        });
        r = await deliverer.deliver({ url: target.url, headers, body });
      } catch (err) {
        // an unreadable secret (wrong master key?) is the operator's to fix: keep retrying on the schedule
        r = {
          status: null,
          body: "",
          error: `not sent: ${(err as BaseError).shortMessage ?? String(err)}`,
          retryable: true,
          durationMs: 0,
        };
      }
      const ok = isAcknowledgement(r.status, r.body);
      const delay = ok || !r.retryable ? null : retryDelayMs(schedule, e.backoffStep + 1);
      const nack =
        r.status === null ? null : `HTTP ${r.status} with ${JSON.stringify(r.body.trim().slice(0, 60))}: not the acknowledgement "success"`;
      outcome = {
        event: e,
        url: target.url,
        httpStatus: r.status,
        error: r.error ?? (ok ? null : nack),
        durationMs: r.durationMs,
        result: ok ? { kind: "delivered" } : delay === null ? { kind: "dead" } : { kind: "retry", retryInMs: delay },
      };
      if (!r.retryable) counters.refusedTotal++;
    }
    await recordAttempt(db, outcome);
    if (outcome.result.kind === "suppressed") return;
    if (outcome.result.kind === "wait") {
      if (!outcome.result.logged) log.warn({ eventId: e.id, eventType: e.type, reason: outcome.result.reason }, "callback waiting");
      return;
    }
    // never the URL's path or query (they may carry the merchant's tokens), the headers or the body
    const host = outcome.url ? safeHost(outcome.url) : null;
    const fields = {
      eventId: e.id,
      eventType: e.type,
      attemptNo: e.attemptNo,
      host,
      status: outcome.httpStatus,
      durationMs: Math.round(outcome.durationMs),
    };
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
      return { ...counters, dueEvents: backlog.due, lagMs: backlog.oldestDueMs, waitingEvents: backlog.waiting };
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
  return (
    [
      `# TYPE gateway_webhooks_delivered_total counter\ngateway_webhooks_delivered_total ${m.deliveredTotal}`,
      `# TYPE gateway_webhook_failed_attempts_total counter\ngateway_webhook_failed_attempts_total ${m.failedAttemptsTotal}`,
      `# TYPE gateway_webhooks_dead_total counter\ngateway_webhooks_dead_total ${m.deadTotal}`,
      `# TYPE gateway_webhooks_refused_total counter\ngateway_webhooks_refused_total ${m.refusedTotal}`,
      `# TYPE gateway_webhooks_due gauge\ngateway_webhooks_due ${m.dueEvents}`,
      `# TYPE gateway_webhooks_lag_ms gauge\ngateway_webhooks_lag_ms ${m.lagMs}`,
      `# TYPE gateway_webhooks_waiting gauge\ngateway_webhooks_waiting ${m.waitingEvents}`,
    ].join("\n") + "\n"
  );
}
