-- Fiat-priced creates (isLegalTender 1) in one statement, batched like create_payment_orders (migration 011):
-- each item is create_payment_order, and a created order takes its quote (migration 060's columns) in the same
-- statement, so no order ever exists priced without the quote it was priced at, and concurrent fiat creates
-- share one round trip and one commit. An existing order (a repeated request) keeps the quote it was created with.
-- p_quote_sources are JSON texts (cast here: a jsonb[] parameter is awkward for both drivers).
CREATE FUNCTION create_quoted_payment_orders(
  p_ids text[], p_merchant_ids bigint[], p_merchant_order_ids text[], p_request_hashes text[], p_chain_ids bigint[],
  p_token_addresses text[], p_token_symbols text[], p_token_decimals smallint[], p_amounts numeric[],
  p_notify_urls text[], p_redirection_urls text[], p_access_signs text[], p_expires_ats timestamptz[],
  p_descriptions text[], p_quote_symbols text[], p_quote_amounts text[], p_is_legal_tenders smallint[],
  p_quote_currencies text[], p_fiat_amounts numeric[], p_quote_decimals smallint[], p_quote_rates numeric[],
  p_quote_sources text[], p_quoted_ats timestamptz[], p_quote_locked_untils timestamptz[])
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
    IF r.outcome = 'created' THEN
      UPDATE payment_orders SET quote_currency = p_quote_currencies[k], fiat_amount = p_fiat_amounts[k],
        quote_decimals = p_quote_decimals[k], quote_rate = p_quote_rates[k], quote_sources = p_quote_sources[k]::jsonb,
        quoted_at = p_quoted_ats[k], quote_locked_until = p_quote_locked_untils[k]
      WHERE id = p_ids[k]
      RETURNING * INTO o;
    END IF;
    RETURN NEXT;
  END LOOP;
END;
$$;
