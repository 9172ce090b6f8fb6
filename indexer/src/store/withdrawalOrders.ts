import { newId } from "../domain/ids.js";
import { openPayout, transitionPayout, type PayoutEvent, type PayoutStatus } from "../domain/orderStateMachine.js";
import type { Db, Queryable } from "./db.js";
import { IdempotencyConflictError, NotFoundError } from "./errors.js";
import { insertOutboxEvent, requeueLatestEvent } from "./outbox.js";
import { getUser } from "./users.js";

export type WithdrawalOrderRecord = {
  id: string;
  merchantId: bigint;
  userId: bigint;
  merchantWithdrawId: string;
  chainId: number;
  tokenAddress: string;
  amount: bigint;
  toAddress: string;
  status: PayoutStatus;
  payoutId: bigint;
  payoutDeadline: Date;
  payoutSignature: string | null;
  txHash: string | null;
  reason: string | null;
  notifyUrl: string | null;
  createdAt: Date;
};

const toWithdrawal = (r: Record<string, any>): WithdrawalOrderRecord => ({
  id: r.id,
  merchantId: BigInt(r.merchant_id),
  userId: BigInt(r.user_id),
  merchantWithdrawId: r.merchant_withdraw_id,
  chainId: Number(r.chain_id),
  tokenAddress: r.token_address,
  amount: BigInt(r.amount),
  toAddress: r.to_address,
  status: Number(r.status) as PayoutStatus,
  payoutId: BigInt(r.payout_id),
  payoutDeadline: new Date(r.payout_deadline),
  payoutSignature: r.payout_signature,
  txHash: r.tx_hash,
  reason: r.reason,
  notifyUrl: r.notify_url,
  createdAt: new Date(r.created_at),
});

export function withdrawalWebhookPayload(w: WithdrawalOrderRecord) {
  return {
    withdrawOrderId: w.id,
    merchantWithdrawId: w.merchantWithdrawId,
    userId: w.userId.toString(),
    state: w.status,
    chainId: w.chainId,
    token: w.tokenAddress,
    amount: w.amount.toString(),
    toAddress: w.toAddress,
    payoutId: w.payoutId.toString(),
    txHash: w.txHash,
  };
}

/**
 * Records a user's withdrawal, pending the merchant's approval, with the merchant's next vault payout id
 * and its outbox event, in one transaction. Idempotent by (merchant, merchantWithdrawId). The vault
 * checks the merchant's balance when the payout executes; user balances are the merchant's books.
 */
export async function createWithdrawalOrder(
  db: Db,
  p: {
    merchantId: bigint;
    user: { userId?: string; uuid?: string };
    merchantWithdrawId: string;
    requestHash: string;
    chainId: number;
    tokenAddress: string;
    amount: bigint;
    toAddress: string;
    notifyUrl: string | null;
    payoutDeadlineSeconds: number;
  },
): Promise<{ withdrawal: WithdrawalOrderRecord; created: boolean }> {
  return db.transaction(async (tx) => {
    // the merchant row lock serialises the idempotency check, the insert and the payout numbering
    await tx.query("SELECT 1 FROM merchants WHERE id = $1 FOR UPDATE", [p.merchantId]);
    const [existing] = await tx.query("SELECT * FROM withdrawal_orders WHERE merchant_id = $1 AND merchant_withdraw_id = $2", [
      p.merchantId,
      p.merchantWithdrawId,
    ]);
    if (existing) {
      if (existing.request_hash !== p.requestHash) throw new IdempotencyConflictError("merchantWithdrawId", p.merchantWithdrawId);
      return { withdrawal: toWithdrawal(existing), created: false };
    }
    const user = await getUser(tx, p.merchantId, p.user);
    const opened = openPayout("withdrawal", p.amount);
    const [m] = await tx.query<{ id: string }>(
      "UPDATE merchants SET next_payout_id = next_payout_id + 1 WHERE id = $1 RETURNING next_payout_id - 1 AS id",
      [p.merchantId],
    );
    const id = newId();
    const [row] = await tx.query(
      `INSERT INTO withdrawal_orders (id, merchant_id, user_id, merchant_withdraw_id, request_hash, chain_id, token_address,
         amount, to_address, status, payout_id, notify_url, payout_deadline)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, date_trunc('second', now()) + make_interval(secs => $13))
       RETURNING *`,
      [
        id,
        p.merchantId,
        user.userId,
        p.merchantWithdrawId,
        p.requestHash,
        p.chainId,
        p.tokenAddress.toLowerCase(),
        p.amount,
        p.toAddress.toLowerCase(),
        opened.next.status,
        m!.id,
        p.notifyUrl,
        p.payoutDeadlineSeconds,
      ],
    );
    const withdrawal = toWithdrawal(row!);
    await insertOutboxEvent(tx, {
      id: newId(),
      merchantId: p.merchantId,
      aggregateKind: "withdrawal",
      aggregateId: id,
      type: opened.outbox!.type,
      payload: { ...withdrawalWebhookPayload(withdrawal), ...opened.outbox!.payload },
    });
    return { withdrawal, created: true };
  });
}

/** A merchant's withdrawal by withdrawOrderId or merchantWithdrawId; throws {NotFoundError}. */
export async function getWithdrawalOrder(
  db: Queryable,
  merchantId: bigint,
  ref: { withdrawOrderId?: string; merchantWithdrawId?: string },
  forUpdate = false,
) {
  const lock = forUpdate ? " FOR UPDATE" : "";
  const [row] = ref.withdrawOrderId
    ? await db.query(`SELECT * FROM withdrawal_orders WHERE merchant_id = $1 AND id = $2${lock}`, [merchantId, ref.withdrawOrderId])
    : await db.query(`SELECT * FROM withdrawal_orders WHERE merchant_id = $1 AND merchant_withdraw_id = $2${lock}`, [
        merchantId,
        ref.merchantWithdrawId,
      ]);
  if (!row) throw new NotFoundError("withdrawal", ref.withdrawOrderId ?? ref.merchantWithdrawId ?? "");
  return toWithdrawal(row);
}

/** Applies one payout-machine event to a withdrawal (see applyRefundEvent; no payment to release). */
export async function applyWithdrawalEvent(
  db: Db,
  args: {
    merchantId: bigint;
    ref: { withdrawOrderId?: string; merchantWithdrawId?: string };
    event: PayoutEvent;
    check?: (ctx: {
      withdrawal: WithdrawalOrderRecord;
      merchant: { payoutSigner: string | null; payoutKeyMode: "merchant" | "gateway" };
    }) => Promise<{ signature?: string } | void>;
  },
): Promise<WithdrawalOrderRecord> {
  return db.transaction(async (tx) => {
    const w = await getWithdrawalOrder(tx, args.merchantId, args.ref, true);
    const { next, outbox } = transitionPayout("withdrawal", w, args.event);
    const [m] = await tx.query("SELECT payout_signer, payout_key_mode FROM merchants WHERE id = $1", [args.merchantId]);
    const extra =
      (await args.check?.({ withdrawal: w, merchant: { payoutSigner: m!.payout_signer, payoutKeyMode: m!.payout_key_mode } })) ?? {};
    const reason = args.event.type === "reject" || args.event.type === "fail" ? args.event.reason : w.reason;
    const [row] = await tx.query(
      `UPDATE withdrawal_orders SET status = $2, tx_hash = $3, reason = $4, payout_signature = COALESCE($5, payout_signature),
         updated_at = now()
       WHERE id = $1 RETURNING *`,
      [w.id, next.status, next.txHash, reason, extra.signature ?? null],
    );
    const updated = toWithdrawal(row!);
    if (outbox) {
      await insertOutboxEvent(tx, {
        id: newId(),
        merchantId: args.merchantId,
        aggregateKind: "withdrawal",
        aggregateId: w.id,
        type: outbox.type,
        payload: { ...withdrawalWebhookPayload(updated), ...outbox.payload },
      });
    }
    return updated;
  });
}

/** withdrawal/notify: queue the latest webhook again under its id (every withdrawal has one from its creation). */
export async function requeueWithdrawalNotification(db: Db, merchantId: bigint, ref: { withdrawOrderId?: string; merchantWithdrawId?: string }): Promise<string> {
  return db.transaction(async (tx) => {
    const o = await getWithdrawalOrder(tx, merchantId, ref);
    const id = await requeueLatestEvent(tx, "withdrawal", o.id);
    if (!id) throw new NotFoundError("withdrawal", o.id);
    return id;
  });
}
