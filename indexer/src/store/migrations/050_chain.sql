-- Chain follower (src/chain/): cursor, the unconfirmed block window, raw deposits and vault events.
-- Addresses and hashes are lowercase 0x hex; amounts NUMERIC(78,0) base units.

-- one row per chain: the last block ingested (everything at or below it is in the tables below)
CREATE TABLE chain_cursors (
  chain_id          BIGINT PRIMARY KEY,
  block_number      BIGINT NOT NULL,                          -- last ingested block (-1 before block 0)
  block_hash        TEXT NOT NULL,
  head_number       BIGINT NOT NULL DEFAULT -1,               -- the RPC's head when last polled
  confirmed_number  BIGINT NOT NULL DEFAULT -1,               -- deposits at or below it have been confirmed
  updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- the kept window of recent blocks, linked by parent_hash (for reorg detection); pruned behind confirmation
CREATE TABLE chain_blocks (
  chain_id      BIGINT NOT NULL,
  block_number  BIGINT NOT NULL,
  block_hash    TEXT NOT NULL,
  parent_hash   TEXT NOT NULL,
  PRIMARY KEY (chain_id, block_number)
);

-- every observed transfer to a watched address. One native payment is one row: the deposit address's LOG3
-- (source native_log, its log index) when the address has code, else the transaction (native_tx, log_index -1).
CREATE TABLE chain_deposits (
  id            BIGSERIAL UNIQUE,
  chain_id      BIGINT NOT NULL,
  block_number  BIGINT NOT NULL,
  block_hash    TEXT NOT NULL,
  tx_hash       TEXT NOT NULL,
  log_index     INT NOT NULL CHECK (log_index >= -1),
  token         TEXT NOT NULL,                                -- 0x000…0 for the native coin
  from_address  TEXT NOT NULL,
  to_address    TEXT NOT NULL,
  amount        NUMERIC(78,0) NOT NULL CHECK (amount > 0),
  source        TEXT NOT NULL CHECK (source IN ('erc20', 'native_tx', 'native_log')),
  status        TEXT NOT NULL DEFAULT 'seen' CHECK (status IN ('seen', 'confirmed')),
  confirmed_at  TIMESTAMPTZ,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX chain_deposits_unconfirmed ON chain_deposits (chain_id, block_number) WHERE status = 'seen';
CREATE INDEX chain_deposits_block ON chain_deposits (chain_id, block_number);
CREATE INDEX chain_deposits_to ON chain_deposits (chain_id, to_address);

-- the vault's events (sweeps, deployments, payouts, fees, rescues), decoded
CREATE TABLE chain_vault_events (
  id            BIGSERIAL UNIQUE,
  chain_id      BIGINT NOT NULL,
  block_number  BIGINT NOT NULL,
  block_hash    TEXT NOT NULL,
  tx_hash       TEXT NOT NULL,
  log_index     INT NOT NULL,
  name          TEXT NOT NULL,                                -- event name, e.g. 'Swept', 'PayoutExecuted'
  args          JSONB NOT NULL,                               -- addresses lowercase, integers as decimal strings
  status        TEXT NOT NULL DEFAULT 'seen' CHECK (status IN ('seen', 'confirmed')),
  confirmed_at  TIMESTAMPTZ,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX chain_vault_events_unconfirmed ON chain_vault_events (chain_id, block_number) WHERE status = 'seen';
CREATE INDEX chain_vault_events_block ON chain_vault_events (chain_id, block_number);
CREATE INDEX chain_vault_events_name ON chain_vault_events (chain_id, name);
