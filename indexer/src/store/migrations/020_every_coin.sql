-- Every coin a payer sends is found (src/chain/traces.ts, src/chain/balances.ts): internal native transfers
-- from traces, the balance safety net, and what leaves a deposit address (so its expected balance is known).

-- what left a watched deposit address: ERC-20 Transfer logs from it (the sweep's forwardTransfer), and the
-- vault's NativeSwept / native DepositTokenRescued events. Expected balance = deposits in - outflows.
CREATE TABLE chain_outflows (
  chain_id      BIGINT NOT NULL,
  tx_hash       TEXT NOT NULL,
  log_index     INT NOT NULL,
  block_number  BIGINT NOT NULL,
  block_hash    TEXT NOT NULL,
  token         TEXT NOT NULL,                                -- 0x000…0 for the native coin
  from_address  TEXT NOT NULL,                                -- the deposit address
  to_address    TEXT NOT NULL,
  amount        NUMERIC(78,0) NOT NULL CHECK (amount > 0),
  source        TEXT NOT NULL CHECK (source IN ('erc20', 'native_swept', 'native_rescued')),
  PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX chain_outflows_from ON chain_outflows (chain_id, from_address);
CREATE INDEX chain_outflows_block ON chain_outflows (chain_id, block_number);

-- the balance checker's address sets: handed-out pool addresses (the slow cycle walks them by address) and
-- recently created users / recent recharges (checked every block when the chain has no traces)
CREATE INDEX address_pool_handed_out ON address_pool (chain_id, address) WHERE leased_at IS NOT NULL;
CREATE INDEX users_created_at ON users (created_at);
CREATE INDEX recharge_orders_recent ON recharge_orders (chain_id, created_at);

-- chain_deposits (migration 050, which sorts after this one) already has the shape below on a new database;
-- a database made before this migration gets it here
DO $$
BEGIN
  IF to_regclass('chain_deposits') IS NOT NULL THEN
    ALTER TABLE chain_deposits DROP CONSTRAINT IF EXISTS chain_deposits_log_index_check;
    ALTER TABLE chain_deposits DROP CONSTRAINT IF EXISTS chain_deposits_source_check;
    ALTER TABLE chain_deposits ADD CONSTRAINT chain_deposits_source_check
      CHECK (source IN ('erc20', 'native_tx', 'native_log', 'native_trace', 'balance'));
    ALTER TABLE chain_deposits ADD COLUMN IF NOT EXISTS absorbed_by BIGINT;
    ALTER TABLE chain_deposits ADD COLUMN IF NOT EXISTS absorbed_amount NUMERIC(78,0) NOT NULL DEFAULT 0;
    CREATE INDEX IF NOT EXISTS chain_deposits_balance_open ON chain_deposits (chain_id, to_address, token)
      WHERE source = 'balance' AND absorbed_amount < amount;
    CREATE INDEX IF NOT EXISTS chain_deposits_absorbed ON chain_deposits (absorbed_by) WHERE absorbed_by IS NOT NULL;
  END IF;
END
$$;
