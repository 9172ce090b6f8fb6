-- Batch payouts (issues 11 and 15): several pending payout lines of one merchant on one chain approved with
-- ONE EIP-712 PayoutBatch signature (PaymentVault.payoutBatch). The batch row holds the signature and the
-- signed deadline; each line names its batch (batch_id) and keeps payout_signature NULL, so the per-line
-- executor never sends it alone. The signed items are the batch's lines in payout id order.
CREATE TABLE payout_batches (
  id           TEXT PRIMARY KEY,                                                -- ULID
  merchant_id  BIGINT NOT NULL REFERENCES merchants(id),
  chain_id     BIGINT NOT NULL,
  deadline     BIGINT NOT NULL CHECK (deadline > 0),                            -- the signed PayoutBatch.deadline, unix seconds
  signature    TEXT NOT NULL CHECK (signature ~ '^0x([0-9a-f]{2})+$'),          -- lowercase; 65 bytes ECDSA, any length ERC-1271
  approved_by  TEXT NOT NULL CHECK (approved_by IN ('merchant', 'gateway')),
  lines        INT NOT NULL CHECK (lines > 0),
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX payout_batches_merchant ON payout_batches (merchant_id, created_at);

ALTER TABLE refund_orders ADD COLUMN batch_id TEXT REFERENCES payout_batches(id);
ALTER TABLE withdrawal_orders ADD COLUMN batch_id TEXT REFERENCES payout_batches(id);
ALTER TABLE settlement_orders ADD COLUMN batch_id TEXT REFERENCES payout_batches(id);
CREATE INDEX refund_orders_batch ON refund_orders (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX withdrawal_orders_batch ON withdrawal_orders (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX settlement_orders_batch ON settlement_orders (batch_id) WHERE batch_id IS NOT NULL;
