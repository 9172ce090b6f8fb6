import type { Db, Queryable } from "./db.js";
import { IdempotencyConflictError } from "./errors.js";

export type MerchantQrRecord = {
  code: string;
  merchantId: bigint;
  label: string;
  chainId: number;
  tokenAddress: string;
  tokenSymbol: string;
  tokenDecimals: number;
  notifyUrl: string;
  redirectionUrl: string | null;
  /** base units; null = no cap */
  maxAmount: bigint | null;
  createdAt: Date;
};

export function toMerchantQr(r: Record<string, any>): MerchantQrRecord {
  return {
    code: r.code,
    merchantId: BigInt(r.merchant_id),
    label: r.label,
    chainId: Number(r.chain_id),
    tokenAddress: r.token_address,
    tokenSymbol: r.token_symbol,
    tokenDecimals: Number(r.token_decimals),
    notifyUrl: r.notify_url,
    redirectionUrl: r.redirection_url,
    maxAmount: r.max_amount == null ? null : BigInt(r.max_amount),
    createdAt: new Date(r.created_at),
  };
}

export type CreateMerchantQrParameters = Omit<MerchantQrRecord, "createdAt"> & { requestHash: string };

/**
 * Creates a merchant's static QR code. Idempotent by (merchant, label): the same request returns the
 * existing code (`created: false`); other parameters under the same label throw {IdempotencyConflictError}.
 */
export async function createMerchantQr(db: Db, p: CreateMerchantQrParameters): Promise<{ qr: MerchantQrRecord; created: boolean }> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query(
      `INSERT INTO merchant_qr_codes (code, merchant_id, label, chain_id, token_address, token_symbol, token_decimals,
         notify_url, redirection_url, max_amount, request_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (merchant_id, label) DO NOTHING
       RETURNING *`,
      [
        p.code,
        p.merchantId,
        p.label,
        p.chainId,
        p.tokenAddress.toLowerCase(),
        p.tokenSymbol,
        p.tokenDecimals,
        p.notifyUrl,
        p.redirectionUrl,
        p.maxAmount,
        p.requestHash,
      ],
    );
    if (row) return { qr: toMerchantQr(row), created: true };
    const [existing] = await tx.query("SELECT * FROM merchant_qr_codes WHERE merchant_id = $1 AND label = $2", [p.merchantId, p.label]);
    if (existing!.request_hash !== p.requestHash) throw new IdempotencyConflictError("label", p.label);
    return { qr: toMerchantQr(existing!), created: false };
  });
}

/** A QR code by its public code, or null (also when the merchant disabled it: its link then shows "link invalid"). */
export async function findMerchantQr(db: Queryable, code: string): Promise<MerchantQrRecord | null> {
  const [row] = await db.query("SELECT * FROM merchant_qr_codes WHERE code = $1 AND disabled_at IS NULL", [code]);
  return row ? toMerchantQr(row) : null;
}
