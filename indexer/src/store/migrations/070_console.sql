-- Merchant console (src/console/): who may sign in, sign-in nonces, sessions; API key labels and last use;
-- static QR codes that can be disabled.

-- addresses a merchant lets into its console besides its registered payout signer (who is always an admin)
-- roles: viewer (reads), operator (+ refunds, webhook re-sends, QR codes), approver (+ approve and reject
-- payouts), admin (+ API keys, webhook secret, callback URLs, members)
CREATE TABLE console_members (
  merchant_id  BIGINT NOT NULL REFERENCES merchants(id),
  address      TEXT NOT NULL CHECK (address ~ '^0x[0-9a-f]{40}$'),   -- lowercase
  role         TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'approver', 'admin')),
  label        TEXT,
  added_by     TEXT,                                                -- the address that added it (NULL: the operator's CLI)
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (merchant_id, address)
);
CREATE INDEX console_members_address ON console_members (address);

-- Sign-In with Ethereum nonces: issued to one browser (the hash of its pre-session cookie) for one address,
-- used once (used_at set in the statement that checks it), refused after expires_at; purged later
CREATE TABLE console_signin_nonces (
  nonce       TEXT PRIMARY KEY,
  address     TEXT NOT NULL,
  browser     TEXT NOT NULL,
  expires_at  TIMESTAMPTZ NOT NULL,
  used_at     TIMESTAMPTZ,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX console_signin_nonces_expiry ON console_signin_nonces (expires_at);

-- a signed-in browser: the cookie holds a random token, the table only its sha256 (a database read gives no session)
CREATE TABLE console_sessions (
  token_hash    TEXT PRIMARY KEY,
  address       TEXT NOT NULL,                                      -- who signed the SIWE message (lowercase)
  merchant_id   BIGINT NOT NULL REFERENCES merchants(id),           -- the merchant the console shows now
  csrf_token    TEXT NOT NULL,                                      -- every write must carry it
  sandbox       BOOLEAN,                                            -- NULL: the default view (live chains when any)
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_seen_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at    TIMESTAMPTZ NOT NULL,                               -- absolute end; idle sessions end earlier (see sessions.ts)
  revoked_at    TIMESTAMPTZ
);
CREATE INDEX console_sessions_address ON console_sessions (address) WHERE revoked_at IS NULL;
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

ALTER TABLE merchant_api_keys ADD COLUMN label TEXT;
ALTER TABLE merchant_api_keys ADD COLUMN last_used_at TIMESTAMPTZ;

-- "last used" of an API key, from the nonces its signed requests recorded: written when the API purges nonces
-- older than twice its timestamp window (once a minute), so the request path pays nothing and the figure is
-- at most that old (about 11 minutes with the default window)
CREATE FUNCTION console_keep_api_key_use() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE merchant_api_keys k SET last_used_at = GREATEST(k.last_used_at, u.seen_at)
    FROM (SELECT key_id, max(seen_at) AS seen_at FROM purged_nonces GROUP BY key_id) u
   WHERE k.key_id = u.key_id;
  RETURN NULL;
END $$;
CREATE TRIGGER api_nonces_keep_api_key_use AFTER DELETE ON api_nonces
  REFERENCING OLD TABLE AS purged_nonces FOR EACH STATEMENT EXECUTE FUNCTION console_keep_api_key_use();

-- a disabled static QR code answers "link invalid" like an unknown one; its past orders stay
ALTER TABLE merchant_qr_codes ADD COLUMN disabled_at TIMESTAMPTZ;
