-- Pool growth on its own, apart from any create (src/store/addressPool.ts): one
-- process computes a batch of deposit addresses (CREATE2, in TypeScript) while concurrent creates go on
-- leasing, and tops the pool up before it runs dry. The service no longer passes create_payment_order's
-- p_grow_from / p_grow_addresses (migration 003; kept so an applied migration never changes): it calls
-- create_payment_order with NULLs and grows through this function.
--
-- Adds p_addresses as pool keys p_from, p_from + 1, … if the counter still reads p_from (under its row
-- lock, so two growers never add the same keys); returns the counter after the call either way.
CREATE FUNCTION grow_address_pool(p_merchant_id bigint, p_chain_id bigint, p_from bigint, p_addresses text[])
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_next bigint;
BEGIN
  INSERT INTO address_pool_counters (merchant_id, chain_id, next_index) VALUES (p_merchant_id, p_chain_id, 0)
  ON CONFLICT DO NOTHING;
  SELECT next_index INTO v_next FROM address_pool_counters
  WHERE merchant_id = p_merchant_id AND chain_id = p_chain_id FOR UPDATE;
  IF v_next <> p_from OR coalesce(cardinality(p_addresses), 0) = 0 THEN
    RETURN v_next;
  END IF;
  INSERT INTO address_pool (merchant_id, chain_id, pool_index, address)
  SELECT p_merchant_id, p_chain_id, p_from + t.ord - 1, t.addr
  FROM unnest(p_addresses) WITH ORDINALITY AS t(addr, ord);
  UPDATE address_pool_counters SET next_index = p_from + cardinality(p_addresses)
  WHERE merchant_id = p_merchant_id AND chain_id = p_chain_id;
  RETURN p_from + cardinality(p_addresses);
END;
$$;
