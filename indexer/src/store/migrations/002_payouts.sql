-- Payouts, part 2: merchant settlements, the approver of each payout, gateway-held payout keys.
-- Payout states (all three tables): 0 pending approval, 1 approved, 2 broadcast, 3 success, -1 rejected, -2 failed.

-- the payout signer key the gateway holds for a merchant with payout_key_mode = 'gateway'
-- (a 0x-hex private key sealed with AES-256-GCM under the master key; its address is payout_signer)
ALTER TABLE merchants ADD COLUMN payout_key_enc BYTEA;

-- who signed the approval: the merchant's own key or the gateway-held key
ALTER TABLE refund_orders ADD COLUMN approved_by TEXT CHECK (approved_by IN ('merchant', 'gateway'));
ALTER TABLE withdrawal_orders ADD COLUMN approved_by TEXT CHECK (approved_by IN ('merchant', 'gateway'));
UPDATE refund_orders SET approved_by = 'merchant' WHERE payout_signature IS NOT NULL;
UPDATE withdrawal_orders SET approved_by = 'merchant' WHERE payout_signature IS NOT NULL;

-- a merchant withdrawing its vault balance to its own address (vault PayoutKind 2)
CREATE TABLE settlement_orders (
  id                      TEXT PRIMARY KEY,
  merchant_id             BIGINT NOT NULL REFERENCES merchants(id),
  merchant_settlement_id  TEXT NOT NULL,
  request_hash            TEXT NOT NULL,
  chain_id                BIGINT NOT NULL,
  token_address           TEXT NOT NULL,
  amount                  NUMERIC(78,0) NOT NULL CHECK (amount > 0),
  to_address              TEXT NOT NULL,
  status                  SMALLINT NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2, 3, -1, -2)),
  payout_id               BIGINT NOT NULL,
  payout_deadline         TIMESTAMPTZ NOT NULL,
  payout_signature        TEXT,
  approved_by             TEXT CHECK (approved_by IN ('merchant', 'gateway')),
  tx_hash                 TEXT,
  reason                  TEXT,
  notify_url              TEXT,
  created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (merchant_id, merchant_settlement_id)
);

-- one payout id names one order per merchant (the chain follower looks orders up by it)
CREATE UNIQUE INDEX refund_orders_payout ON refund_orders (merchant_id, payout_id);
CREATE UNIQUE INDEX withdrawal_orders_payout ON withdrawal_orders (merchant_id, payout_id);
CREATE UNIQUE INDEX settlement_orders_payout ON settlement_orders (merchant_id, payout_id);
-- the executor's queue: approved, signed, not yet broadcast
CREATE INDEX refund_orders_executable ON refund_orders (merchant_id, payout_id) WHERE status = 1;
CREATE INDEX withdrawal_orders_executable ON withdrawal_orders (chain_id, merchant_id, payout_id) WHERE status = 1;
CREATE INDEX settlement_orders_executable ON settlement_orders (chain_id, merchant_id, payout_id) WHERE status = 1;

ALTER TABLE outbox_events DROP CONSTRAINT IF EXISTS outbox_events_aggregate_kind_check;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_aggregate_kind_check
  CHECK (aggregate_kind IN ('payment', 'refund', 'withdrawal', 'recharge', 'settlement'));
