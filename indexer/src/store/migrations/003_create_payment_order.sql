-- The two hot merchant calls as one database round trip each (issue 3's benchmark: round trips, not Node
-- or PostgreSQL, set the pace). Called from src/store/paymentOrders.ts; semantics documented there and in
-- indexer/README.md ("Performance").

-- Records the request nonce, leases the longest-rested free payment address and creates the order with it,
-- idempotently, in the caller's one statement (so one transaction).
-- outcome: 'created' | 'existing' (same merchantOrderId and request hash) | 'conflict' (same id, other
-- parameters; nothing written but the nonce) | 'nonce_reused' (nothing written).
-- An empty pool raises SQLSTATE GW001 'payment address pool empty at index N' and rolls everything back;
-- the caller computes the deposit addresses N, N+1, … (CREATE2, in TypeScript) and calls again with
-- p_grow_from = N and p_grow_addresses. The pool grows only under the counter's row lock and only if the
-- counter still reads N; otherwise GW001 again with the new N.
CREATE FUNCTION create_payment_order(
  p_key_id text, p_nonce text,
  p_id text, p_merchant_id bigint, p_merchant_order_id text, p_request_hash text, p_chain_id bigint,
  p_token_address text, p_token_symbol text, p_token_decimals smallint, p_amount numeric,
  p_notify_url text, p_redirection_url text, p_access_sign text, p_expires_at timestamptz,
  p_grow_from bigint, p_grow_addresses text[],
  OUT outcome text, OUT o payment_orders)
LANGUAGE plpgsql AS $$
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
      RAISE EXCEPTION 'payment address pool empty at index %', v_next USING ERRCODE = 'GW001';
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

-- Records the nonce of a signed read and reads the order, in one statement. outcome: 'found' |
-- 'not_found' | 'nonce_reused' (the order is not returned). The transaction writes nothing but the nonce,
-- so it commits without waiting for the WAL flush: the nonce is visible to every process at once (replays
-- are refused everywhere), and only a PostgreSQL crash can lose the last few hundred ms of read nonces.
CREATE FUNCTION payment_order_detail(
  p_key_id text, p_nonce text, p_merchant_id bigint, p_pay_order_id text, p_merchant_order_id text,
  OUT outcome text, OUT o payment_orders)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  INSERT INTO api_nonces (key_id, nonce) VALUES (p_key_id, p_nonce) ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    outcome := 'nonce_reused';
    RETURN;
  END IF;
  IF p_pay_order_id IS NOT NULL THEN
    SELECT * INTO o FROM payment_orders WHERE merchant_id = p_merchant_id AND id = p_pay_order_id;
  ELSE
    SELECT * INTO o FROM payment_orders WHERE merchant_id = p_merchant_id AND merchant_order_id = p_merchant_order_id;
  END IF;
  outcome := CASE WHEN FOUND THEN 'found' ELSE 'not_found' END;
END;
$$;
