-- Fiat-priced payment orders (src/pricing/): what the order was priced at, so the amount to pay can be
-- recomputed and audited from the feeds' rounds. All quote columns are set together or not at all (an order
-- priced in its own token has none). `fiat_amount` is in the currency's minor units (`quote_decimals`:
-- ISO 4217, 2 for USD and CNY), `quote_rate` the currency per one whole token as shown to the payer,
-- `quote_sources` the feed rounds read: [{pair, feed, roundId, answer, decimals, updatedAt, blockNumber}].
-- Migration 010's quote_symbol/quote_amount are what the merchant sent (text, as given); these are the
-- fiat price the gateway locked, in integers.
ALTER TABLE payment_orders
  ADD COLUMN IF NOT EXISTS quote_currency     TEXT CHECK (quote_currency ~ '^[A-Z]{3}$'),
  ADD COLUMN IF NOT EXISTS fiat_amount        NUMERIC(78,0) CHECK (fiat_amount > 0),
  ADD COLUMN IF NOT EXISTS quote_decimals     SMALLINT CHECK (quote_decimals BETWEEN 0 AND 6),
  ADD COLUMN IF NOT EXISTS quote_rate         NUMERIC CHECK (quote_rate > 0),
  ADD COLUMN IF NOT EXISTS quote_sources      JSONB,
  ADD COLUMN IF NOT EXISTS quoted_at          TIMESTAMPTZ,
  ADD COLUMN IF NOT EXISTS quote_locked_until TIMESTAMPTZ;

ALTER TABLE payment_orders ADD CONSTRAINT payment_orders_quote_whole CHECK (
  (quote_currency IS NULL) = (fiat_amount IS NULL)
  AND (quote_currency IS NULL) = (quote_decimals IS NULL)
  AND (quote_currency IS NULL) = (quote_rate IS NULL)
  AND (quote_currency IS NULL) = (quote_sources IS NULL)
  AND (quote_currency IS NULL) = (quoted_at IS NULL)
  AND (quote_currency IS NULL) = (quote_locked_until IS NULL)
);

-- How much less than the amount still counts as paid, in basis points of the amount (0: the whole amount).
ALTER TABLE merchants
  ADD COLUMN IF NOT EXISTS underpayment_tolerance_bps SMALLINT NOT NULL DEFAULT 0
    CHECK (underpayment_tolerance_bps BETWEEN 0 AND 1000);
