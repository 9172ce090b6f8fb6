import type { Queryable } from "./db.js";

export type NewOutboxEvent = {
  id: string;
  merchantId: bigint;
  aggregateKind: "payment" | "refund" | "withdrawal" | "recharge" | "settlement";
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

/**
 * One more callback (the `…/notify` routes): marks the aggregate's latest event undelivered, due now and
 * forced (sent whatever status change it records, even when it was not a callback), under its own id.
 * Returns its id, or null if the aggregate has no event.
 */
export async function requeueLatestEvent(
  tx: Queryable,
  kind: NewOutboxEvent["aggregateKind"],
  aggregateId: string,
): Promise<string | null> {
  const [row] = await tx.query<{ id: string }>(
    `UPDATE outbox_events SET next_attempt_at = now(), delivered_at = NULL, forced = true, suppressed = false
     WHERE id = (SELECT id FROM outbox_events WHERE aggregate_kind = $1 AND aggregate_id = $2
                 ORDER BY created_at DESC, id DESC LIMIT 1)
     RETURNING id`,
    [kind, aggregateId],
  );
  return row?.id ?? null;
}
