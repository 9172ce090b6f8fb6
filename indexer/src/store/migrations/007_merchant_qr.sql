-- Static merchant QR codes (seed 004): a permanent payment link for a merchant's counter. The payer opens
-- it, types the amount, and the gateway creates an ordinary payment order for the merchant.
CREATE TABLE merchant_qr_codes (
  code            TEXT PRIMARY KEY,                               -- in the link <payPageUrl>/m/<code>; random, unguessable
  merchant_id     BIGINT NOT NULL REFERENCES merchants(id),
  label           TEXT NOT NULL,                                  -- the counter's name, unique per merchant
  chain_id        BIGINT NOT NULL,
  token_address   TEXT NOT NULL,                                  -- lowercase; 0x000…0 for the native coin
  token_symbol    TEXT NOT NULL,
  token_decimals  INT NOT NULL,
  notify_url      TEXT NOT NULL,
  redirection_url TEXT,
  max_amount      NUMERIC(78,0) CHECK (max_amount > 0),            -- base units; NULL = no cap beyond uint256
  request_hash    TEXT NOT NULL,                                  -- a repeated create with other parameters is a conflict
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (merchant_id, label)
);
