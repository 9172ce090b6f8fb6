import type { Db, Queryable } from "./db.js";

/**
 * SQL of the webhook notifier (src/notify/). An outbox event is *live* while it is undelivered and not
 * dead; dead means `dead_at IS NOT NULL AND next_attempt_at <= dead_at` (a re-send through `…/notify`
 * sets next_attempt_at = now(), later than dead_at, and so revives it without knowing about this file).
 */
const LIVE = (t: string) => `(${t}.delivered_at IS NULL AND (${t}.dead_at IS NULL OR ${t}.next_attempt_at > ${t}.dead_at))`;

export type ClaimedEvent = {
  id: string;
  merchantId: bigint;
  aggregateKind: string;
  aggregateId: string;
  type: string;
  payload: unknown;
  /** attempt number of this claim (1 for the first attempt) */
  attemptNo: number;
  backoffStep: number;
  claimToken: string;
  /** queued again by …/notify: sent whatever status change it records */
  forced: boolean;
  /** why it waited last time (no callback URL, say); null when it did not */
  waitingReason: string | null;
};

/**
 * Claims up to `limit` due live events, each the oldest live event of its order, for `leaseMs`. Rows
 * locked by another worker's claim are skipped (`FOR UPDATE SKIP LOCKED`) and a committed claim hides the
 * row until its lease ends, so two workers never send the same attempt. The claim counts the attempt.
 * An event revived by a re-send starts the retry schedule again.
 */
export async function claimDueEvents(db: Db, p: { limit: number; leaseMs: number; claimToken: string }): Promise<ClaimedEvent[]> {
  const rows = await db.query<{
    id: string;
    merchant_id: string;
    aggregate_kind: string;
    aggregate_id: string;
    type: string;
    payload: unknown;
    attempts: number;
    backoff_step: number;
    forced: boolean;
    waiting_reason: string | null;
  }>(
    `WITH due AS (
       SELECT e.id FROM outbox_events e
       WHERE ${LIVE("e")} AND e.next_attempt_at <= now()
         AND (e.claimed_until IS NULL OR e.claimed_until < now())
         AND NOT EXISTS (
           SELECT 1 FROM outbox_events p
           WHERE p.aggregate_kind = e.aggregate_kind AND p.aggregate_id = e.aggregate_id AND p.seq < e.seq AND ${LIVE("p")})
       ORDER BY e.next_attempt_at, e.seq
       LIMIT $1
       FOR UPDATE OF e SKIP LOCKED
     )
     UPDATE outbox_events o
     SET claimed_until = now() + $2 * interval '1 millisecond', claimed_at = now(), claim_token = $3,
         attempts = o.attempts + 1,
         backoff_step = CASE WHEN o.dead_at IS NULL THEN o.backoff_step ELSE 0 END,
         dead_at = NULL
     FROM due WHERE o.id = due.id
     RETURNING o.id, o.merchant_id, o.aggregate_kind, o.aggregate_id, o.type, o.payload, o.attempts, o.backoff_step, o.forced, o.waiting_reason`,
    [p.limit, p.leaseMs, p.claimToken],
  );
  return rows.map((r) => ({
    id: r.id,
    merchantId: BigInt(r.merchant_id),
    aggregateKind: r.aggregate_kind,
    aggregateId: r.aggregate_id,
    type: r.type,
    payload: typeof r.payload === "string" ? JSON.parse(r.payload) : r.payload,
    attemptNo: r.attempts,
    backoffStep: r.backoff_step,
    claimToken: p.claimToken,
    forced: r.forced === true,
    waitingReason: r.waiting_reason ?? null,
  }));
}

export type WebhookTarget = {
  /** false when the event's order does not exist (for this merchant) */
  orderFound: boolean;
  url: string | null;
  webhookSecretSealed: Buffer;
  /** the merchant's newest active API key: X-PAY-KEY and the secret X-PAY-SIGN is made with (null: none active) */
  apiKey: { keyId: string; secretSealed: Buffer } | null;
  /** the merchant asked for a callback on every event (merchants.callback_all_events) */
  callbackAllEvents: boolean;
};

// where each kind's notify URL is: the order's own column, else a fallback (`o` = the order, `m` = the merchant);
// payouts are found by their public id (the event's aggregate), payments and recharges by their row id
const TARGETS: Record<string, { from: string | null; key: "text" | "bigint"; url: string }> = {
  payment: { from: "payment_orders o WHERE o.id = $2 AND o.merchant_id = m.id", key: "text", url: "o.notify_url" },
  refund: {
    from: "refund_orders o WHERE o.refund_no = $2::bigint AND o.merchant_id = m.id",
    key: "bigint",
    url: "COALESCE(o.notify_url, (SELECT p.notify_url FROM payment_orders p WHERE p.id = o.pay_order_id))",
  },
  withdrawal: {
    from: "withdrawals o WHERE o.id = $2::bigint AND o.merchant_id = m.id",
    key: "bigint",
    url: "COALESCE(o.notify_url, m.recharge_notify_url)",
  },
  settlement: {
    from: "settlement_orders o WHERE o.settlement_no = $2::bigint AND o.merchant_id = m.id",
    key: "bigint",
    url: "COALESCE(o.notify_url, m.recharge_notify_url)",
  },
  // recharges go to the merchant's recharge callback URL (configured, not per order)
  recharge: { from: "recharge_orders o WHERE o.id = $2 AND o.merchant_id = m.id", key: "text", url: "m.recharge_notify_url" },
};

/**
 * Where an event goes and how it is signed: the order's notify URL (payments; refunds fall back to their
 * payment's URL, withdrawals and settlements to the merchant's recharge callback URL, recharges always use
 * that one), the merchant's sealed webhook secret (Standard Webhooks) and newest active API key (X-PAY-SIGN).
 * Null when the merchant or the kind is unknown.
 */
export async function findWebhookTarget(
  db: Queryable,
  e: { merchantId: bigint; aggregateKind: string; aggregateId: string },
): Promise<WebhookTarget | null> {
  const t = TARGETS[e.aggregateKind];
  if (!t) return null;
  const validKey = t.key === "text" || /^[0-9]{1,18}$/.test(e.aggregateId);
  const [row] = await db.query<{
    url: string | null;
    found: boolean;
    secret: Uint8Array;
    key_id: string | null;
    api_secret: Uint8Array | null;
    all_events: boolean;
  }>(
    `SELECT o.url, o.found, m.webhook_secret_enc AS secret, m.callback_all_events AS all_events, k.key_id, k.secret_enc AS api_secret
     FROM merchants m
     LEFT JOIN LATERAL (SELECT ${t.url} AS url, true AS found FROM ${t.from}) o ON $3
     LEFT JOIN LATERAL (SELECT key_id, secret_enc FROM merchant_api_keys WHERE merchant_id = m.id AND active ORDER BY created_at DESC, key_id DESC LIMIT 1) k ON true
     WHERE m.id = $1`,
    [e.merchantId, validKey ? e.aggregateId : null, validKey],
  );
  if (!row) return null;
  return {
    orderFound: row.found === true,
    url: row.url,
    webhookSecretSealed: Buffer.from(row.secret),
    apiKey: row.key_id ? { keyId: row.key_id, secretSealed: Buffer.from(row.api_secret!) } : null,
    callbackAllEvents: row.all_events === true,
  };
}

export type AttemptOutcome = {
  event: Pick<ClaimedEvent, "id" | "merchantId" | "aggregateKind" | "aggregateId" | "attemptNo" | "claimToken">;
  url: string | null;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
  /**
   * delivered (acknowledged), retry after `retryInMs`, dead (schedule exhausted or not retryable), suppressed (no
   * callback under the merchant's settings: not sent, the order's next event may go), or wait `waitMs` without
   * counting a failure (no callback URL yet; logged once per reason)
   */
  result:
    | { kind: "delivered" }
    | { kind: "retry"; retryInMs: number }
    | { kind: "dead" }
    | { kind: "suppressed" }
    | { kind: "wait"; waitMs: number; reason: string; logged: boolean };
};

/**
 * Logs the attempt and moves the event on, in one transaction. The event row changes only while the
 * claim is still ours (a worker whose lease ran out leaves the event to whoever claimed it since). A re-send
 * that arrived during the attempt (next_attempt_at moved past claimed_at) is kept: the event stays due.
 */
export async function recordAttempt(db: Db, o: AttemptOutcome): Promise<void> {
  await db.transaction(async (tx) => {
    const free = "claimed_until = NULL, claimed_at = NULL, claim_token = NULL";
    if (o.result.kind === "suppressed") {
      await tx.query(
        `UPDATE outbox_events SET delivered_at = now(), suppressed = true, waiting_reason = NULL, ${free} WHERE id = $1 AND claim_token = $2`,
        [o.event.id, o.event.claimToken],
      );
      return;
    }
    if (o.result.kind === "wait") {
      await tx.query(
        `UPDATE outbox_events SET waiting_reason = $3, last_error = $3,
           next_attempt_at = CASE WHEN next_attempt_at > claimed_at THEN next_attempt_at ELSE now() + $4 * interval '1 millisecond' END, ${free}
         WHERE id = $1 AND claim_token = $2`,
        [o.event.id, o.event.claimToken, o.result.reason, o.result.waitMs],
      );
      if (o.result.logged) return;
    }
    await tx.query(
      `INSERT INTO webhook_attempts (event_id, merchant_id, aggregate_kind, aggregate_id, attempt_no, url, http_status, error, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        o.event.id,
        o.event.merchantId,
        o.event.aggregateKind,
        o.event.aggregateId,
        o.event.attemptNo,
        o.url,
        o.httpStatus,
        o.error,
        Math.round(o.durationMs),
      ],
    );
    const requeued = "next_attempt_at > claimed_at";
    if (o.result.kind === "wait") return;
    if (o.result.kind === "delivered") {
      await tx.query(
        `UPDATE outbox_events SET delivered_at = CASE WHEN ${requeued} THEN NULL ELSE now() END, backoff_step = 0, dead_at = NULL,
           last_error = NULL, waiting_reason = NULL, forced = false, ${free}
         WHERE id = $1 AND claim_token = $2`,
        [o.event.id, o.event.claimToken],
      );
    } else if (o.result.kind === "retry") {
      await tx.query(
        `UPDATE outbox_events SET backoff_step = backoff_step + 1, last_error = $3, waiting_reason = NULL,
           next_attempt_at = CASE WHEN ${requeued} THEN next_attempt_at ELSE now() + $4 * interval '1 millisecond' END, ${free}
         WHERE id = $1 AND claim_token = $2`,
        [o.event.id, o.event.claimToken, o.error ?? `HTTP ${o.httpStatus}`, o.result.retryInMs],
      );
    } else {
      await tx.query(
        `UPDATE outbox_events SET backoff_step = backoff_step + 1, last_error = $3, waiting_reason = NULL,
           dead_at = CASE WHEN ${requeued} THEN NULL ELSE now() END,
           next_attempt_at = CASE WHEN ${requeued} THEN next_attempt_at ELSE now() END, ${free}
         WHERE id = $1 AND claim_token = $2`,
        [o.event.id, o.event.claimToken, o.error ?? `HTTP ${o.httpStatus}`],
      );
    }
  });
}

export type WebhookAttemptRecord = {
  eventId: string;
  eventType: string;
  aggregateKind: string;
  aggregateId: string;
  attemptNo: number;
  url: string | null;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
  attemptedAt: Date;
};

export type WebhookEventState = {
  eventId: string;
  type: string;
  aggregateKind: string;
  aggregateId: string;
  status: "delivered" | "pending" | "dead" | "suppressed" | "waiting";
  attempts: number;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  lastError: string | null;
};

export type WebhookLogQuery = { merchantId: bigint } & ({ eventId: string } | { aggregateKind: string; aggregateId: string });

/** The merchant's events of one event id or one order, with every attempt, oldest first. */
export async function listWebhookLog(
  db: Queryable,
  q: WebhookLogQuery,
): Promise<{ events: WebhookEventState[]; attempts: WebhookAttemptRecord[] }> {
  const [where, params] =
    "eventId" in q
      ? ["e.merchant_id = $1 AND e.id = $2", [q.merchantId, q.eventId]]
      : ["e.merchant_id = $1 AND e.aggregate_kind = $2 AND e.aggregate_id = $3", [q.merchantId, q.aggregateKind, q.aggregateId]];
  const events = await db.query(
    `SELECT e.id, e.type, e.aggregate_kind, e.aggregate_id, e.attempts, e.next_attempt_at, e.delivered_at, e.last_error, e.suppressed, e.waiting_reason,
            (e.dead_at IS NOT NULL AND e.next_attempt_at <= e.dead_at) AS dead
     FROM outbox_events e WHERE ${where} ORDER BY e.seq LIMIT 200`,
    params,
  );
  const attempts = await db.query(
    `SELECT a.event_id, e.type, a.aggregate_kind, a.aggregate_id, a.attempt_no, a.url, a.http_status, a.error, a.duration_ms, a.attempted_at
     FROM webhook_attempts a JOIN outbox_events e ON e.id = a.event_id
     WHERE ${where} ORDER BY a.id LIMIT 1000`,
    params,
  );
  return {
    events: events.map((r) => ({
      eventId: r.id,
      type: r.type,
      aggregateKind: r.aggregate_kind,
      aggregateId: r.aggregate_id,
      status: r.delivered_at ? (r.suppressed ? "suppressed" : "delivered") : r.dead ? "dead" : r.waiting_reason ? "waiting" : "pending",
      attempts: r.attempts,
      nextAttemptAt: r.delivered_at || r.dead ? null : new Date(r.next_attempt_at),
      deliveredAt: r.delivered_at ? new Date(r.delivered_at) : null,
      lastError: r.last_error,
    })),
    attempts: attempts.map((r) => ({
      eventId: r.event_id,
      eventType: r.type,
      aggregateKind: r.aggregate_kind,
      aggregateId: r.aggregate_id,
      attemptNo: r.attempt_no,
      url: r.url,
      httpStatus: r.http_status,
      error: r.error,
      durationMs: r.duration_ms,
      attemptedAt: new Date(r.attempted_at),
    })),
  };
}

/**
 * The notifier's backlog: live events due now and how late the oldest is, and the events waiting for
 * something only the merchant can fix (a callback URL), not counted as failures.
 */
export async function outboxBacklog(db: Queryable): Promise<{ due: number; oldestDueMs: number; waiting: number }> {
  const [r] = await db.query<{ due: string; lag_ms: string | null; waiting: string }>(
    `SELECT count(*) FILTER (WHERE e.next_attempt_at <= now())::text AS due,
            (EXTRACT(EPOCH FROM now() - min(e.next_attempt_at) FILTER (WHERE e.next_attempt_at <= now())) * 1000)::bigint::text AS lag_ms,
            count(*) FILTER (WHERE e.waiting_reason IS NOT NULL)::text AS waiting
     FROM outbox_events e WHERE ${LIVE("e")}`,
  );
  return { due: Number(r?.due ?? 0), oldestDueMs: r?.lag_ms ? Math.max(0, Number(r.lag_ms)) : 0, waiting: Number(r?.waiting ?? 0) };
}

/** The backlog per merchant (only merchants with due events), for the doctor's merchant view. */
export async function outboxBacklogByMerchant(db: Queryable): Promise<{ merchantId: string; due: number; oldestDueMs: number }[]> {
  const rows = await db.query<{ merchant_id: string; due: string; lag_ms: string | null }>(
    `SELECT e.merchant_id::text AS merchant_id, count(*)::text AS due,
            (EXTRACT(EPOCH FROM now() - min(e.next_attempt_at)) * 1000)::bigint::text AS lag_ms
     FROM outbox_events e WHERE ${LIVE("e")} AND e.next_attempt_at <= now() GROUP BY e.merchant_id`,
  );
  return rows.map((r) => ({ merchantId: r.merchant_id, due: Number(r.due), oldestDueMs: r.lag_ms ? Math.max(0, Number(r.lag_ms)) : 0 }));
}
