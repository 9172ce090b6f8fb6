-- One relay transaction (vault.relayPayouts) carries several signed payouts and batches, of any merchants.
-- operator_txs names one piece of work per transaction: for a relay, ref_kind 'relay' and ref_id the relay's
-- id; this table lists what that relay carries, so that a dropped or reverted relay puts each of them back,
-- a skip in it is known to be the gateway's, and an order's page lists the transaction that carried it.
CREATE TABLE payout_relay_refs (
  relay_id  TEXT NOT NULL,
  ref_kind  TEXT NOT NULL CHECK (ref_kind IN ('refund', 'withdrawal', 'settlement', 'batch')),
  ref_id    TEXT NOT NULL,
  PRIMARY KEY (relay_id, ref_kind, ref_id)
);
CREATE INDEX payout_relay_refs_ref ON payout_relay_refs (ref_id);
