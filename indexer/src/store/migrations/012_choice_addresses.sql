-- A deposit to the address an order had before the payer switched network or coin is attributed to that
-- order (store/ingest.ts attributeDeposits): the lookup is by chain and address.
CREATE INDEX payment_order_choices_address ON payment_order_choices (chain_id, receipt_address);
