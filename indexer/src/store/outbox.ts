import type { Queryable } from "./db.js";

export type NewOutboxEvent = {
  id: string;
  merchantId: bigint;
  aggregateKind: "payment" | "refund" | "withdrawal" | "recharge";
  aggregateId: string;
  type: string;
  payload: Record<string, unknown>;
};

/** Writes a webhook to deliver; call inside the transaction of the state change that causes it. */
export async function insertOutboxEvent(tx: Queryable, e: NewOutboxEvent): Promise<void> {
  await tx.query(
    `INSERT INTO outbox_events (id, merchant_id, aggregate_kind, aggregate_id, type, payload)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
    [e.id, e.merchantId, e.aggregateKind, e.aggregateId, e.type, JSON.stringify({ eventId: e.id, type: e.type, data: e.payload })],
  );
}
