-- The merchant's underpayment tolerance (migration 060's merchants.underpayment_tolerance_bps) as it stood when
-- each payment order was created: an order counts as paid once amount - ⌊amount · bps / 10000⌋ arrived
-- (pricing/tolerance.ts). Kept on the order so every reader of `payment_orders.*` (the follower's batches, the
-- API, jobs) applies the same rule without a join, and a later change of the setting never moves the goal
-- of an order already shown to a payer. Set by a trigger so every creating path records it.
ALTER TABLE payment_orders
  ADD COLUMN IF NOT EXISTS underpayment_tolerance_bps SMALLINT NOT NULL DEFAULT 0
    CHECK (underpayment_tolerance_bps BETWEEN 0 AND 1000);

CREATE FUNCTION payment_orders_tolerance() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.underpayment_tolerance_bps := coalesce((SELECT m.underpayment_tolerance_bps FROM merchants m WHERE m.id = NEW.merchant_id), 0);
  RETURN NEW;
END;
$$;
CREATE TRIGGER payment_orders_tolerance BEFORE INSERT ON payment_orders
  FOR EACH ROW EXECUTE FUNCTION payment_orders_tolerance();
