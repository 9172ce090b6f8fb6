-- A batch item the vault skipped (PayoutSkipped) for a reason that may pass later (a short balance, a
-- refusing recipient) keeps its id unused and its signature valid until the deadline: anyone can relay the
-- batch again and pay it. So the line is not failed (its amount stays reserved): it goes back to approved
-- with the skip recorded here, and fails only at its deadline (or when its id is cancelled).
ALTER TABLE refund_orders ADD COLUMN skip_reason TEXT;
ALTER TABLE withdrawal_orders ADD COLUMN skip_reason TEXT;
ALTER TABLE settlement_orders ADD COLUMN skip_reason TEXT;
-- After a skip the executor sends the batch again no earlier than this (it never hammers the chain).
ALTER TABLE payout_batches ADD COLUMN retry_after TIMESTAMPTZ;
