-- The two hot merchant calls as one database round trip each (issue 3's benchmark: round trips, not Node
-- or PostgreSQL, set the pace). Called from src/store/paymentOrders.ts; semantics documented there and in
-- indexer/README.md ("Performance").

-- Records the request nonce, leases the longest-rested free payment address and creates the order with it,
-- idempotently, in the caller's one statement (so one transaction).
-- outcome: 'created' | 'existing' (same merchantOrderId and request hash) | 'conflict' (same id, other
-- parameters; nothing written but the nonce) | 'nonce_reused' (nothing written) | 'pool_empty' (nothing
-- written; next_index = N): the caller computes the deposit addresses N, N+1, … (CREATE2, in TypeScript)
-- and calls again with p_grow_from = N and p_grow_addresses. The pool grows only under the counter's row
-- lock and only if the counter still reads N; otherwise 'pool_empty' again with the new N.
CREATE FUNCTION create_payment_order(
  p_key_id text, p_nonce text,
  p_id text, p_merchant_id bigint, p_merchant_order_id text, p_request_hash text, p_chain_id bigint,
  p_token_address text, p_token_symbol text, p_token_decimals smallint, p_amount numeric,
  p_notify_url text, p_redirection_url text, p_access_sign text, p_expires_at timestamptz,
  p_grow_from bigint, p_grow_addresses text[],
  OUT outcome text, OUT next_index bigint, OUT o payment_orders)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_next bigint;
  v_index bigint;
  v_address text;
BEGIN
  IF p_key_id IS NOT NULL THEN
    INSERT INTO api_nonces (key_id, nonce) VALUES (p_key_id, p_nonce) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      outcome := 'nonce_reused';
      RETURN;
    END IF;
  END IF;

  -- Lease first, then insert the order with its address: one write per row instead of an insert and an
  -- update of the order. A repeated merchantOrderId then gives the address back (below); that is the rare
  -- path. If the pool looks empty, take the counter's row lock and look once more: a concurrent create may
  -- have grown the pool while we waited for the lock.
  FOR attempt IN 1..2 LOOP
    -- FOR UPDATE SKIP LOCKED: concurrent leases pick different rows without waiting on each other; the
    -- scan walks the partial index address_pool_free in available_at order (longest rested first). The
    -- pick is a scalar subquery (one InitPlan, then a primary-key lookup), not a join: joined, the
    -- planner may scan every row of the merchant's pool by primary key and probe the pick for each.
    UPDATE address_pool a SET order_id = p_id, leased_at = now()
    WHERE a.merchant_id = p_merchant_id AND a.chain_id = p_chain_id AND a.pool_index = (
      SELECT f.pool_index FROM address_pool f
      WHERE f.merchant_id = p_merchant_id AND f.chain_id = p_chain_id AND f.order_id IS NULL AND f.available_at <= now()
      ORDER BY f.available_at
      LIMIT 1
      FOR UPDATE SKIP LOCKED)
    RETURNING a.pool_index, a.address INTO v_index, v_address;
    EXIT WHEN v_index IS NOT NULL OR attempt = 2;
    INSERT INTO address_pool_counters (merchant_id, chain_id, next_index) VALUES (p_merchant_id, p_chain_id, 0)
    ON CONFLICT DO NOTHING;
    SELECT next_index INTO v_next FROM address_pool_counters
    WHERE merchant_id = p_merchant_id AND chain_id = p_chain_id FOR UPDATE;
  END LOOP;

  IF v_index IS NULL THEN
    -- a repeat of a committed create needs no address: answer it without growing the pool
    SELECT * INTO o FROM payment_orders WHERE merchant_id = p_merchant_id AND merchant_order_id = p_merchant_order_id;
    IF FOUND THEN
      outcome := CASE WHEN o.request_hash = p_request_hash THEN 'existing' ELSE 'conflict' END;
      RETURN;
    END IF;
    IF p_grow_from IS DISTINCT FROM v_next OR coalesce(cardinality(p_grow_addresses), 0) = 0 THEN
      -- nothing written but the nonce (and perhaps the counter row at 0): take the nonce back so the
      -- caller can repeat the call with the addresses from next_index
      IF p_key_id IS NOT NULL THEN
        DELETE FROM api_nonces WHERE key_id = p_key_id AND nonce = p_nonce;
      END IF;
      outcome := 'pool_empty';
      next_index := v_next;
      RETURN;
    END IF;
    -- one address for this order, the rest free for the next creates
    INSERT INTO address_pool (merchant_id, chain_id, pool_index, address, order_id, leased_at)
    SELECT p_merchant_id, p_chain_id, v_next + t.ord - 1, t.addr,
           CASE WHEN t.ord = 1 THEN p_id END, CASE WHEN t.ord = 1 THEN now() END
    FROM unnest(p_grow_addresses) WITH ORDINALITY AS t(addr, ord);
    UPDATE address_pool_counters SET next_index = v_next + cardinality(p_grow_addresses)
    WHERE merchant_id = p_merchant_id AND chain_id = p_chain_id;
    v_index := v_next;
    v_address := p_grow_addresses[1];
  END IF;

  -- a competing insert of the same (merchant, merchantOrderId) makes this wait for it to commit; each
  -- PL/pgSQL statement takes a new snapshot under READ COMMITTED, so the SELECT below sees the winner
  INSERT INTO payment_orders (id, merchant_id, merchant_order_id, request_hash, chain_id, token_address,
    token_symbol, token_decimals, amount, notify_url, redirection_url, access_sign, expires_at,
    receipt_address, pool_index)
  VALUES (p_id, p_merchant_id, p_merchant_order_id, p_request_hash, p_chain_id, p_token_address,
    p_token_symbol, p_token_decimals, p_amount, p_notify_url, p_redirection_url, p_access_sign, p_expires_at,
    v_address, v_index)
  ON CONFLICT (merchant_id, merchant_order_id) DO NOTHING
  RETURNING * INTO o;
  IF FOUND THEN
    outcome := 'created';
    RETURN;
  END IF;
  -- a repeat: give the address back as it was (free, same rest time; the lease never committed), and
  -- answer with the existing order
  UPDATE address_pool SET order_id = NULL, leased_at = NULL
  WHERE merchant_id = p_merchant_id AND chain_id = p_chain_id AND pool_index = v_index;
  SELECT * INTO o FROM payment_orders WHERE merchant_id = p_merchant_id AND merchant_order_id = p_merchant_order_id;
  outcome := CASE WHEN o.request_hash = p_request_hash THEN 'existing' ELSE 'conflict' END;
END;
$$;

-- Many creates in one statement and one transaction (one commit): the gateway groups concurrent requests
-- (src/store/batcher.ts). Each item runs create_payment_order without growth; its outcome per item, in
-- order. An error in any item rolls the batch back and the caller repeats the items one by one.
CREATE FUNCTION create_payment_orders(
  p_key_ids text[], p_nonces text[],
  p_ids text[], p_merchant_ids bigint[], p_merchant_order_ids text[], p_request_hashes text[], p_chain_ids bigint[],
  p_token_addresses text[], p_token_symbols text[], p_token_decimals smallint[], p_amounts numeric[],
  p_notify_urls text[], p_redirection_urls text[], p_access_signs text[], p_expires_ats timestamptz[])
RETURNS TABLE (i int, outcome text, next_index bigint, o payment_orders)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r record;
BEGIN
  FOR k IN 1 .. coalesce(cardinality(p_ids), 0) LOOP
    SELECT c.outcome, c.next_index, c.o INTO r
    FROM create_payment_order(p_key_ids[k], p_nonces[k], p_ids[k], p_merchant_ids[k], p_merchant_order_ids[k],
      p_request_hashes[k], p_chain_ids[k], p_token_addresses[k], p_token_symbols[k], p_token_decimals[k],
      p_amounts[k], p_notify_urls[k], p_redirection_urls[k], p_access_signs[k], p_expires_ats[k], NULL, NULL) c;
    i := k;
    outcome := r.outcome;
    next_index := r.next_index;
    o := r.o;
    RETURN NEXT;
  END LOOP;
END;
$$;

-- Records the nonces of signed reads and reads their orders, in one statement: one row per request, in
-- order; fresh = false means the nonce was used before (the order is then not returned); o is null when
-- the merchant has no such order. The caller removes duplicate nonces within one batch. The transaction
-- writes nothing but nonces, so it commits without waiting for the WAL flush: a nonce is visible to every
-- process at once (replays are refused everywhere), and only a PostgreSQL crash can lose the last few
-- hundred ms of read nonces (see indexer/README.md).
CREATE FUNCTION payment_order_details(
  p_key_ids text[], p_nonces text[], p_merchant_ids bigint[], p_pay_order_ids text[], p_merchant_order_ids text[])
RETURNS TABLE (i bigint, fresh boolean, o payment_orders)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  RETURN QUERY
  WITH req AS (
    SELECT * FROM unnest(p_key_ids, p_nonces, p_merchant_ids, p_pay_order_ids, p_merchant_order_ids)
      WITH ORDINALITY AS r(key_id, nonce, merchant_id, pay_order_id, merchant_order_id, n)
  ), ins AS (
    INSERT INTO api_nonces (key_id, nonce) SELECT r.key_id, r.nonce FROM req r
    ON CONFLICT DO NOTHING
    RETURNING api_nonces.key_id, api_nonces.nonce
  )
  SELECT r.n, ins.nonce IS NOT NULL, x.po
  FROM req r
  LEFT JOIN ins ON ins.key_id = r.key_id AND ins.nonce = r.nonce
  LEFT JOIN LATERAL (
    SELECT p AS po FROM payment_orders p
    WHERE r.pay_order_id IS NOT NULL AND p.id = r.pay_order_id AND p.merchant_id = r.merchant_id
    UNION ALL
    SELECT p FROM payment_orders p
    WHERE r.pay_order_id IS NULL AND p.merchant_id = r.merchant_id AND p.merchant_order_id = r.merchant_order_id
  ) x ON ins.nonce IS NOT NULL
  ORDER BY r.n;
END;
$$;
