import type { Queryable } from "./db.js";
import { toMerchantQr, type MerchantQrRecord } from "./merchantQr.js";

/** A static QR code as the console lists it: with whether it is disabled and how many orders it started. */
export type MerchantQrListing = MerchantQrRecord & { disabledAt: Date | null; orders: number };

/** The merchant's static QR codes, active ones first, newest first. */
export async function listMerchantQrCodes(db: Queryable, merchantId: bigint, chainIds: readonly number[]): Promise<MerchantQrListing[]> {
  const rows = await db.query(
    `SELECT q.*, (SELECT count(*) FROM payment_orders o WHERE o.merchant_id = q.merchant_id AND left(o.merchant_order_id, length(q.code) + 4) = 'qr:' || q.code || ':') AS orders
     FROM merchant_qr_codes q WHERE q.merchant_id = $1 AND q.chain_id = ANY ($2::bigint[])
     ORDER BY q.disabled_at IS NOT NULL, q.created_at DESC LIMIT 500`,
    [merchantId, chainIds.map(String)],
  );
  return rows.map((r) => ({ ...toMerchantQr(r), disabledAt: r.disabled_at ? new Date(r.disabled_at) : null, orders: Number(r.orders) }));
}

/** One of the merchant's QR codes, disabled or not; null for an unknown code or another merchant's. */
export async function getMerchantQrOf(db: Queryable, merchantId: bigint, code: string): Promise<MerchantQrListing | null> {
  const [r] = await db.query("SELECT q.*, 0 AS orders FROM merchant_qr_codes q WHERE q.merchant_id = $1 AND q.code = $2", [
    merchantId,
    code,
  ]);
  return r ? { ...toMerchantQr(r), disabledAt: r.disabled_at ? new Date(r.disabled_at) : null, orders: 0 } : null;
}

/** Disables a QR code: its link answers "link invalid" from now on. False for an unknown or already disabled code. */
export async function disableMerchantQr(db: Queryable, merchantId: bigint, code: string): Promise<boolean> {
  const rows = await db.query(
    "UPDATE merchant_qr_codes SET disabled_at = now() WHERE merchant_id = $1 AND code = $2 AND disabled_at IS NULL RETURNING 1",
    [merchantId, code],
  );
  return rows.length === 1;
}
