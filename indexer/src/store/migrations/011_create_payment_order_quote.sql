-- createPaymentOrder as Pay Protocol has it: still one statement (lease + idempotency + insert) and batched
-- (src/store/batcher.ts), now with the quote and the description, and without the request nonce: a Pay
-- Protocol request carries none, and a create is idempotent by outTradeNo, so nothing is written for a replay.
-- Pool growth goes through grow_address_pool (migration 008). payment/detail needs no function: it is a read.
DROP FUNCTION create_payment_orders(text[], text[], text[], bigint[], text[], text[], bigint[], text[], text[], smallint[], numeric[],
  text[], text[], text[], timestamptz[]);
DROP FUNCTION create_payment_order(text, text, text, bigint, text, text, bigint, text, text, smallint, numeric, text, text, text,
  timestamptz, bigint, text[]);
DROP FUNCTION payment_order_details(text[], text[], bigint[], text[], text[]);

-- outcome: 'created' | 'existing' (same outTradeNo and request hash) | 'conflict' (same outTradeNo, other
-- parameters; nothing written) | 'pool_empty' (nothing written; next_index = the pool counter to grow from)
CREATE FUNCTION create_payment_order(
  p_id text, p_merchant_id bigint, p_merchant_order_id text, p_request_hash text, p_chain_id bigint,
  p_token_address text, p_token_symbol text, p_token_decimals smallint, p_amount numeric,
  p_notify_url text, p_redirection_url text, p_access_sign text, p_expires_at timestamptz,
  p_description text, p_quote_symbol text, p_quote_amount text, p_is_legal_tender smallint,
  OUT outcome text, OUT next_index bigint, OUT o payment_orders)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_index bigint;
  v_address text;
BEGIN
  -- the lease of migration 003 (longest-rested free row, FOR UPDATE SKIP LOCKED, scalar subquery pick)
  UPDATE address_pool a SET order_id = p_id, leased_at = now()
  WHERE a.merchant_id = p_merchant_id AND a.chain_id = p_chain_id AND a.pool_index = (
    SELECT f.pool_index FROM address_pool f
    WHERE f.merchant_id = p_merchant_id AND f.chain_id = p_chain_id AND f.order_id IS NULL AND f.available_at <= now()
    ORDER BY f.available_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
  RETURNING a.pool_index, a.address INTO v_index, v_address;

  IF v_index IS NULL THEN
    -- a repeat of a committed create needs no address
    SELECT * INTO o FROM payment_orders WHERE merchant_id = p_merchant_id AND merchant_order_id = p_merchant_order_id;
    IF FOUND THEN
      outcome := CASE WHEN o.request_hash = p_request_hash THEN 'existing' ELSE 'conflict' END;
      RETURN;
    END IF;
    INSERT INTO address_pool_counters (merchant_id, chain_id, next_index) VALUES (p_merchant_id, p_chain_id, 0) ON CONFLICT DO NOTHING;
    SELECT c.next_index INTO next_index FROM address_pool_counters c WHERE c.merchant_id = p_merchant_id AND c.chain_id = p_chain_id;
    outcome := 'pool_empty';
    RETURN;
  END IF;

  -- a competing insert of the same (merchant, outTradeNo) makes this wait for it; the SELECT below sees the winner
  INSERT INTO payment_orders (id, merchant_id, merchant_order_id, request_hash, chain_id, token_address,
    token_symbol, token_decimals, amount, notify_url, redirection_url, access_sign, expires_at,
    receipt_address, pool_index, description, quote_symbol, quote_amount, is_legal_tender)
  VALUES (p_id, p_merchant_id, p_merchant_order_id, p_request_hash, p_chain_id, p_token_address,
    p_token_symbol, p_token_decimals, p_amount, p_notify_url, p_redirection_url, p_access_sign, p_expires_at,
    v_address, v_index, p_description, p_quote_symbol, p_quote_amount, p_is_legal_tender)
  ON CONFLICT (merchant_id, merchant_order_id) DO NOTHING
  RETURNING * INTO o;
  IF FOUND THEN
    outcome := 'created';
    RETURN;
  END IF;
  -- a repeat: give the address back as it was and answer with the existing order
  UPDATE address_pool SET order_id = NULL, leased_at = NULL
  WHERE merchant_id = p_merchant_id AND chain_id = p_chain_id AND pool_index = v_index;
  SELECT * INTO o FROM payment_orders WHERE merchant_id = p_merchant_id AND merchant_order_id = p_merchant_order_id;
  outcome := CASE WHEN o.request_hash = p_request_hash THEN 'existing' ELSE 'conflict' END;
END;
$$;

-- Many creates in one statement and one commit; each item as create_payment_order, outcomes in order.
CREATE FUNCTION create_payment_orders(
  p_ids text[], p_merchant_ids bigint[], p_merchant_order_ids text[], p_request_hashes text[], p_chain_ids bigint[],
  p_token_addresses text[], p_token_symbols text[], p_token_decimals smallint[], p_amounts numeric[],
  p_notify_urls text[], p_redirection_urls text[], p_access_signs text[], p_expires_ats timestamptz[],
  p_descriptions text[], p_quote_symbols text[], p_quote_amounts text[], p_is_legal_tenders smallint[])
RETURNS TABLE (i int, outcome text, next_index bigint, o payment_orders)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r record;
BEGIN
  FOR k IN 1 .. coalesce(cardinality(p_ids), 0) LOOP
    SELECT c.outcome, c.next_index, c.o INTO r
    FROM create_payment_order(p_ids[k], p_merchant_ids[k], p_merchant_order_ids[k], p_request_hashes[k], p_chain_ids[k],
      p_token_addresses[k], p_token_symbols[k], p_token_decimals[k], p_amounts[k], p_notify_urls[k], p_redirection_urls[k],
      p_access_signs[k], p_expires_ats[k], p_descriptions[k], p_quote_symbols[k], p_quote_amounts[k], p_is_legal_tenders[k]) c;
    i := k;
    outcome := r.outcome;
    next_index := r.next_index;
    o := r.o;
    RETURN NEXT;
  END LOOP;
END;
$$;
