-- Deposits turned into orders (src/ingest/): every deposit's link to its payment order, and the deposits
-- that belong to no order. Keys are the follower's (chain_id, tx_hash, log_index); a transfer removed by a
-- reorg is kept as 'removed' (revived if the same transfer is mined again), so nothing is lost or counted twice.

-- a deposit to a payment address, recorded against the order that leased the address (or last leased it)
CREATE TABLE payment_transfers (
  chain_id      BIGINT NOT NULL,
  tx_hash       TEXT NOT NULL,
  log_index     INT NOT NULL,
  pay_order_id  TEXT NOT NULL REFERENCES payment_orders(id),
  token         TEXT NOT NULL,                                -- 0x000…0 for the native coin
  from_address  TEXT NOT NULL,
  to_address    TEXT NOT NULL,
  amount        NUMERIC(78,0) NOT NULL CHECK (amount > 0),
  block_number  BIGINT NOT NULL,
  -- 'payment': the order's token, counted in seen/paid amounts; 'wrong_token': another token, shown, not counted
  kind          TEXT NOT NULL CHECK (kind IN ('payment', 'wrong_token')),
  late          BOOLEAN NOT NULL,                             -- arrived after the order closed (expired, cancelled, paid)
  status        TEXT NOT NULL DEFAULT 'seen' CHECK (status IN ('seen', 'confirmed', 'removed')),
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX payment_transfers_order ON payment_transfers (pay_order_id, block_number);
-- the per-block "confirming" pass looks only at unconfirmed transfers
CREATE INDEX payment_transfers_unconfirmed ON payment_transfers (chain_id, block_number) WHERE status = 'seen';

-- a deposit to a watched address with no order ever (an idle pool address, or an address watched in-process).
-- Written once when seen, deleted with its chain_deposits row by a reorg; its confirmation status is
-- chain_deposits.status (no second write per deposit: these are most of the follower's rows).
CREATE TABLE unattributed_deposits (
  chain_id      BIGINT NOT NULL,
  tx_hash       TEXT NOT NULL,
  log_index     INT NOT NULL,
  merchant_id   BIGINT,                                       -- the pool address's merchant, when it is one
  token         TEXT NOT NULL,
  from_address  TEXT NOT NULL,
  to_address    TEXT NOT NULL,
  amount        NUMERIC(78,0) NOT NULL CHECK (amount > 0),
  block_number  BIGINT NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX unattributed_deposits_to ON unattributed_deposits (chain_id, to_address);

-- the per-block "confirming" pass over recharges not yet at depth
CREATE INDEX recharge_orders_unconfirmed ON recharge_orders (chain_id, block_number) WHERE status IN (2, 3);
