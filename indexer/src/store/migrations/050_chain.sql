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
-- Internal transfers found in traces are native_trace (log_index -1 - the frame's pre-order index); an amount
-- found only by the balance safety net is 'balance' (tx_hash 'balance:<block>:<address>:<token>', log_index 0).
-- The columns and checks of migration 020 are part of this table (020 adds them to databases made before it).
CREATE TABLE chain_deposits (
  id            BIGSERIAL UNIQUE,
  chain_id      BIGINT NOT NULL,
  block_number  BIGINT NOT NULL,
  block_hash    TEXT NOT NULL,
  tx_hash       TEXT NOT NULL,
  log_index     INT NOT NULL,
  token         TEXT NOT NULL,                                -- 0x000…0 for the native coin
  from_address  TEXT NOT NULL,
  to_address    TEXT NOT NULL,
  amount        NUMERIC(78,0) NOT NULL CHECK (amount > 0),
  source        TEXT NOT NULL CONSTRAINT chain_deposits_source_check
                  CHECK (source IN ('erc20', 'native_tx', 'native_log', 'native_trace', 'balance')),
  status        TEXT NOT NULL DEFAULT 'seen' CHECK (status IN ('seen', 'confirmed')),
  confirmed_at  TIMESTAMPTZ,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- a real transfer recorded after the balance net had already reported its money: the balance row's id
  -- (this row is kept as evidence and never reported to the order logic)
  absorbed_by     BIGINT,
  -- on a 'balance' row: how much of it later real transfers have explained
  absorbed_amount NUMERIC(78,0) NOT NULL DEFAULT 0,
  PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX chain_deposits_balance_open ON chain_deposits (chain_id, to_address, token) WHERE source = 'balance' AND absorbed_amount < amount;
CREATE INDEX chain_deposits_absorbed ON chain_deposits (absorbed_by) WHERE absorbed_by IS NOT NULL;
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
