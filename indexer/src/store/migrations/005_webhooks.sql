-- Webhook notifier (src/notify/): claims with a lease, per-order ordering, backoff, dead events, attempt log.

-- insertion order of events: events of one order are delivered in this order (ids of one transaction can
-- share a millisecond, so the ULID alone does not order them)
ALTER TABLE outbox_events ADD COLUMN seq BIGSERIAL;
-- a worker's claim: nobody else delivers the event before claimed_until (a crashed worker's claim expires)
ALTER TABLE outbox_events ADD COLUMN claimed_until TIMESTAMPTZ;
ALTER TABLE outbox_events ADD COLUMN claimed_at TIMESTAMPTZ;
ALTER TABLE outbox_events ADD COLUMN claim_token TEXT;
-- failed attempts since the last success or re-send: the position in the retry schedule
ALTER TABLE outbox_events ADD COLUMN backoff_step INT NOT NULL DEFAULT 0;
-- set when the schedule is exhausted (next_attempt_at is set to the same instant). A re-send through
-- `…/notify` moves next_attempt_at past dead_at, which revives the event: dead means
-- `dead_at IS NOT NULL AND next_attempt_at <= dead_at`.
ALTER TABLE outbox_events ADD COLUMN dead_at TIMESTAMPTZ;
ALTER TABLE outbox_events ADD COLUMN last_error TEXT;

CREATE INDEX outbox_events_aggregate_open ON outbox_events (aggregate_kind, aggregate_id, seq) WHERE delivered_at IS NULL;
-- the claim's scan: live events only (the predicate is the claim query's own text, so the planner uses it;
-- dead events drop out of it and cost the poll nothing)
CREATE INDEX outbox_events_live ON outbox_events (next_attempt_at, seq)
  WHERE (delivered_at IS NULL AND (dead_at IS NULL OR next_attempt_at > dead_at));

-- every delivery attempt, success or not
CREATE TABLE webhook_attempts (
  id              BIGSERIAL PRIMARY KEY,
  event_id        TEXT NOT NULL REFERENCES outbox_events(id),
  merchant_id     BIGINT NOT NULL,
  aggregate_kind  TEXT NOT NULL,
  aggregate_id    TEXT NOT NULL,
  attempt_no      INT NOT NULL,                                   -- outbox_events.attempts after the claim
  url             TEXT,
  http_status     INT,                                            -- null when no answer (error says why)
  error           TEXT,
  duration_ms     INT NOT NULL,
  attempted_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_event ON webhook_attempts (event_id, id);
CREATE INDEX webhook_attempts_aggregate ON webhook_attempts (merchant_id, aggregate_kind, aggregate_id, id);
