-- Gateway schema v1. Money is NUMERIC(78,0) base units (fits uint256); addresses are lowercase 0x hex;
-- times are timestamptz. Status codes are documented in src/domain/orderStateMachine.ts.

CREATE TABLE merchants (
  id                  BIGINT PRIMARY KEY CHECK (id > 0),         -- the on-chain merchant id (uint64, < 2^63 here)
  name                TEXT NOT NULL,
  fee_bps             INT NOT NULL DEFAULT 0 CHECK (fee_bps BETWEEN 0 AND 10000),
  payout_signer       TEXT,                                       -- address registered in the vault
  payout_key_mode     TEXT NOT NULL DEFAULT 'merchant' CHECK (payout_key_mode IN ('merchant', 'gateway')),
  recharge_notify_url TEXT,
  webhook_secret_enc  BYTEA NOT NULL,                             -- AES-256-GCM under the master key
  next_user_no        BIGINT NOT NULL DEFAULT 1,                  -- recharge deposit key of the next user
  next_payout_id      BIGINT NOT NULL DEFAULT 1,                  -- vault payout id of the next refund/withdrawal
  created_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE merchant_api_keys (
  key_id       TEXT PRIMARY KEY,                                  -- sent as X-PAY-KEY
  merchant_id  BIGINT NOT NULL REFERENCES merchants(id),
  secret_enc   BYTEA NOT NULL,                                    -- AES-256-GCM under the master key (HMAC needs the secret)
  active       BOOLEAN NOT NULL DEFAULT true,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  revoked_at   TIMESTAMPTZ
);
CREATE INDEX merchant_api_keys_merchant ON merchant_api_keys (merchant_id);

-- nonces of signed requests, kept for the timestamp window and then purged
CREATE TABLE api_nonces (
  key_id   TEXT NOT NULL,
  nonce    TEXT NOT NULL,
  seen_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (key_id, nonce)
);
CREATE INDEX api_nonces_seen_at ON api_nonces (seen_at);

-- next pool index per merchant and chain (the pool grows on demand)
CREATE TABLE address_pool_counters (
  merchant_id  BIGINT NOT NULL REFERENCES merchants(id),
  chain_id     BIGINT NOT NULL,
  next_index   BIGINT NOT NULL,
  PRIMARY KEY (merchant_id, chain_id)
);

-- payment deposit addresses (kind 1, key = pool_index); order_id set while leased
CREATE TABLE address_pool (
  merchant_id   BIGINT NOT NULL REFERENCES merchants(id),
  chain_id      BIGINT NOT NULL,
  pool_index    BIGINT NOT NULL,
  address       TEXT NOT NULL,
  order_id      TEXT,
  leased_at     TIMESTAMPTZ,
  available_at  TIMESTAMPTZ NOT NULL DEFAULT now(),               -- cool-down after a lease ends
  PRIMARY KEY (merchant_id, chain_id, pool_index)
);
CREATE UNIQUE INDEX address_pool_address ON address_pool (chain_id, address);
CREATE UNIQUE INDEX address_pool_order ON address_pool (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX address_pool_free ON address_pool (merchant_id, chain_id, available_at) WHERE order_id IS NULL;

CREATE TABLE payment_orders (
  id                 TEXT PRIMARY KEY,                            -- payOrderId (ULID)
  merchant_id        BIGINT NOT NULL REFERENCES merchants(id),
  merchant_order_id  TEXT NOT NULL,
  request_hash       TEXT NOT NULL,                               -- sha256 of the create parameters (idempotency)
  chain_id           BIGINT NOT NULL,
  token_address      TEXT NOT NULL,                               -- 0x000…0 for the native coin
  token_symbol       TEXT NOT NULL,
  token_decimals     SMALLINT NOT NULL,
  amount             NUMERIC(78,0) NOT NULL CHECK (amount > 0),
  status             SMALLINT NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2, 3, 4, -1, -2, -3)),
  seen_amount        NUMERIC(78,0) NOT NULL DEFAULT 0 CHECK (seen_amount >= 0),
  paid_amount        NUMERIC(78,0) NOT NULL DEFAULT 0 CHECK (paid_amount >= 0 AND paid_amount <= seen_amount),
  refunded_amount    NUMERIC(78,0) NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= paid_amount),
  receipt_address    TEXT,
  pool_index         BIGINT,
  payer_address      TEXT,                                        -- sender of the first payment (refund default)
  notify_url         TEXT NOT NULL,
  redirection_url    TEXT,
  access_sign        TEXT NOT NULL,
  expires_at         TIMESTAMPTZ NOT NULL,
  created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (merchant_id, merchant_order_id)
);
CREATE INDEX payment_orders_open_expiry ON payment_orders (expires_at) WHERE status IN (0, 1);
CREATE INDEX payment_orders_receipt ON payment_orders (chain_id, receipt_address);

-- refund and withdrawal states: 0 pending approval, 1 approved, 2 broadcast, 3 success, -1 rejected, -2 failed
CREATE TABLE refund_orders (
  id                  TEXT PRIMARY KEY,
  merchant_id         BIGINT NOT NULL REFERENCES merchants(id),
  pay_order_id        TEXT NOT NULL REFERENCES payment_orders(id),
  merchant_refund_id  TEXT NOT NULL,
  request_hash        TEXT NOT NULL,
  amount              NUMERIC(78,0) NOT NULL CHECK (amount > 0),
  to_address          TEXT NOT NULL,
  status              SMALLINT NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2, 3, -1, -2)),
  payout_id           BIGINT NOT NULL,
  payout_deadline     TIMESTAMPTZ,
  payout_signature    TEXT,
  tx_hash             TEXT,
  reason              TEXT,
  notify_url          TEXT,
  created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (merchant_id, merchant_refund_id)
);
CREATE INDEX refund_orders_payment ON refund_orders (pay_order_id);

CREATE TABLE users (
  id          BIGSERIAL PRIMARY KEY,                              -- userId
  merchant_id BIGINT NOT NULL REFERENCES merchants(id),
  user_no     BIGINT NOT NULL,                                    -- recharge deposit key (kind 2)
  uuid        TEXT NOT NULL,                                      -- the merchant's own user identifier
  user_type   SMALLINT NOT NULL DEFAULT 1,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (merchant_id, uuid),
  UNIQUE (merchant_id, user_no)
);

CREATE TABLE user_wallets (
  id        BIGSERIAL PRIMARY KEY,                                -- walletId
  user_id   BIGINT NOT NULL REFERENCES users(id),
  chain_id  BIGINT NOT NULL,
  address   TEXT NOT NULL,
  UNIQUE (user_id, chain_id),
  UNIQUE (chain_id, address)
);

-- recharge states: 2 awaiting confirmation, 3 confirming, 4 success, -1 dropped by a reorg
CREATE TABLE recharge_orders (
  id             TEXT PRIMARY KEY,
  merchant_id    BIGINT NOT NULL REFERENCES merchants(id),
  user_id        BIGINT NOT NULL REFERENCES users(id),
  chain_id       BIGINT NOT NULL,
  token_address  TEXT NOT NULL,
  amount         NUMERIC(78,0) NOT NULL CHECK (amount > 0),
  status         SMALLINT NOT NULL DEFAULT 2 CHECK (status IN (2, 3, 4, -1)),
  from_address   TEXT NOT NULL,
  to_address     TEXT NOT NULL,
  tx_hash        TEXT NOT NULL,
  log_index      INT NOT NULL,
  block_number   BIGINT NOT NULL,
  block_hash     TEXT NOT NULL,
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX recharge_orders_merchant ON recharge_orders (merchant_id, id);

CREATE TABLE withdrawal_orders (
  id                    TEXT PRIMARY KEY,
  merchant_id           BIGINT NOT NULL REFERENCES merchants(id),
  user_id               BIGINT NOT NULL REFERENCES users(id),
  merchant_withdraw_id  TEXT NOT NULL,
  request_hash          TEXT NOT NULL,
  chain_id              BIGINT NOT NULL,
  token_address         TEXT NOT NULL,
  amount                NUMERIC(78,0) NOT NULL CHECK (amount > 0),
  to_address            TEXT NOT NULL,
  status                SMALLINT NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2, 3, -1, -2)),
  payout_id             BIGINT NOT NULL,
  payout_deadline       TIMESTAMPTZ,
  payout_signature      TEXT,
  tx_hash               TEXT,
  reason                TEXT,
  notify_url            TEXT,
  created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (merchant_id, merchant_withdraw_id)
);

-- webhooks to deliver, written in the same transaction as the state change that causes them
CREATE TABLE outbox_events (
  id               TEXT PRIMARY KEY,                              -- stable event id (X-PAY-EVENT-ID), kept across retries
  merchant_id      BIGINT NOT NULL REFERENCES merchants(id),
  aggregate_kind   TEXT NOT NULL CHECK (aggregate_kind IN ('payment', 'refund', 'withdrawal', 'recharge')),
  aggregate_id     TEXT NOT NULL,
  type             TEXT NOT NULL,
  payload          JSONB NOT NULL,
  created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  attempts         INT NOT NULL DEFAULT 0,
  delivered_at     TIMESTAMPTZ
);
CREATE INDEX outbox_events_due ON outbox_events (next_attempt_at) WHERE delivered_at IS NULL;
CREATE INDEX outbox_events_aggregate ON outbox_events (aggregate_kind, aggregate_id);
