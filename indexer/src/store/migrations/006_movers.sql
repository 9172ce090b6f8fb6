-- Money movers (src/movers/): the operator's transactions, and the sweeps that move deposits into the vault.

-- every transaction the operator key signs, written BEFORE it is broadcast, so a restart re-sends the same
-- signed bytes instead of signing a second transaction for the same work; replacements share the nonce
CREATE TABLE operator_txs (
  tx_hash       TEXT PRIMARY KEY,
  chain_id      BIGINT NOT NULL,
  sender        TEXT NOT NULL,
  nonce         BIGINT NOT NULL,
  purpose       TEXT NOT NULL CHECK (purpose IN ('sweep', 'payout')),
  ref_id        TEXT NOT NULL,                               -- sweeps.id, or the payout order's id
  ref_kind      TEXT,                                        -- refund | withdrawal | settlement for payouts
  raw_tx        TEXT NOT NULL,
  max_fee       NUMERIC(78,0) NOT NULL,
  priority_fee  NUMERIC(78,0) NOT NULL,
  status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'mined', 'reverted', 'replaced', 'dropped')),
  sent_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  settled_at    TIMESTAMPTZ
);
CREATE INDEX operator_txs_pending ON operator_txs (chain_id, nonce) WHERE status = 'pending';
CREATE INDEX operator_txs_ref ON operator_txs (ref_id);

-- one sweep transaction of one token on one chain
CREATE TABLE sweeps (
  id             TEXT PRIMARY KEY,
  chain_id       BIGINT NOT NULL,
  token          TEXT NOT NULL,                              -- 0x000…0 for the native coin
  entries        INT NOT NULL,
  expected       NUMERIC(78,0) NOT NULL,                     -- sum of the addresses' balances when sent
  estimated_gas  NUMERIC(78,0) NOT NULL,
  status         TEXT NOT NULL DEFAULT 'broadcast' CHECK (status IN ('broadcast', 'confirmed', 'dropped')),
  tx_hash        TEXT,                                       -- the mined transaction (set when confirmed)
  credited       NUMERIC(78,0),                              -- merchants' credit: sum of Swept.amount (what arrived) less Swept.fee
  fee            NUMERIC(78,0),                              -- sum of Swept.fee
  skipped        INT,                                        -- SweepSkipped events (addresses whose transfer failed)
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  confirmed_at   TIMESTAMPTZ
);
CREATE INDEX sweeps_open ON sweeps (chain_id) WHERE status = 'broadcast';

-- which confirmed deposits a sweep took (sweep_id NULL: the address was found already empty)
CREATE TABLE sweep_items (
  chain_id   BIGINT NOT NULL,
  tx_hash    TEXT NOT NULL,
  log_index  INT NOT NULL,
  sweep_id   TEXT REFERENCES sweeps(id),
  PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX sweep_items_sweep ON sweep_items (sweep_id);
