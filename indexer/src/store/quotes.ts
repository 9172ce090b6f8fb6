import { MAX_TOLERANCE_BPS } from "../pricing/tolerance.js";
import type { Queryable } from "./db.js";
import { NotFoundError } from "./errors.js";

/**
 * What a fiat-priced payment order records of its quote (migration 060). Structurally the part of a
 * `pricing/` `Quote` that is kept, so a quote can be passed as it is.
 */
export type PaymentQuote = {
  currency: string;
  /** minor units of `currency` */
  fiatAmount: bigint;
  fiatDecimals: number;
  /** units of `currency` per whole token, a decimal string */
  rate: string;
  sources: readonly {
    pair: string;
    feed: string;
    roundId: string;
    answer: string;
    decimals: number;
    updatedAt: number;
    blockNumber: string;
  }[];
  quotedAt: Date;
  lockedUntil: Date;
};

/** Order states a quote may still be (re)written in: unpaid and underpaid. */
const QUOTABLE = "(0, 1)";

/**
 * Records `quote` on an open payment order: at creation (the order's amount is the quote's), or a re-quote
 * when the payer changes chain or coin (the caller changes the amount in the same transaction). Only orders
 * still unpaid or underpaid take a quote.
 * @returns false when the order is no longer open (nothing written)
 * @throws NotFoundError when the merchant has no such order
 */
export async function recordPaymentQuote(
  db: Queryable,
  p: { merchantId: bigint; payOrderId: string; quote: PaymentQuote },
): Promise<boolean> {
  const q = p.quote;
  const written = await db.query(
    `UPDATE payment_orders SET quote_currency = $3, fiat_amount = $4::numeric, quote_decimals = $5, quote_rate = $6::numeric,
       quote_sources = $7::jsonb, quoted_at = $8, quote_locked_until = $9, updated_at = now()
     WHERE id = $1 AND merchant_id = $2 AND status IN ${QUOTABLE} RETURNING id`,
    [
      p.payOrderId,
      p.merchantId.toString(),
      q.currency,
      q.fiatAmount.toString(),
      q.fiatDecimals,
      q.rate,
      JSON.stringify(q.sources),
      q.quotedAt,
      q.lockedUntil,
    ],
  );
  if (written.length) return true;
  const [exists] = await db.query("SELECT 1 FROM payment_orders WHERE id = $1 AND merchant_id = $2", [
    p.payOrderId,
    p.merchantId.toString(),
  ]);
  if (!exists) throw new NotFoundError("payment", p.payOrderId);
  return false;
}

/** The quote a payment order was priced at, or null for an order priced in its token. */
export async function getPaymentQuote(db: Queryable, payOrderId: string): Promise<PaymentQuote | null> {
  const [r] = await db.query(
    `SELECT quote_currency, fiat_amount::text, quote_decimals, quote_rate::text, quote_sources, quoted_at, quote_locked_until
     FROM payment_orders WHERE id = $1`,
    [payOrderId],
  );
  return r ? toPaymentQuote(r) : null;
}

/** The quote columns of a `payment_orders` row (selected with `o.*`), or null when it has none. */
export function toPaymentQuote(r: Record<string, any>): PaymentQuote | null {
  if (r.quote_currency == null) return null;
  return {
    currency: r.quote_currency,
    fiatAmount: BigInt(r.fiat_amount),
    fiatDecimals: Number(r.quote_decimals),
    rate: normaliseDecimal(String(r.quote_rate)),
    sources: typeof r.quote_sources === "string" ? JSON.parse(r.quote_sources) : r.quote_sources,
    quotedAt: new Date(r.quoted_at),
    lockedUntil: new Date(r.quote_locked_until),
  };
}

/** The merchant's underpayment tolerance in basis points (0 when the merchant does not exist). */
export async function getUnderpaymentTolerance(db: Queryable, merchantId: bigint): Promise<number> {
  const [r] = await db.query<{ bps: number }>("SELECT underpayment_tolerance_bps AS bps FROM merchants WHERE id = $1", [
    merchantId.toString(),
  ]);
  return r ? Number(r.bps) : 0;
}

/**
 * Sets the merchant's underpayment tolerance (0..{MAX_TOLERANCE_BPS} basis points; the table's CHECK refuses
 * others). The merchant API and the console both write it here.
 * @returns false when there is no such merchant
 */
export async function setUnderpaymentTolerance(db: Queryable, merchantId: bigint, bps: number): Promise<boolean> {
  if (!Number.isInteger(bps) || bps < 0 || bps > MAX_TOLERANCE_BPS)
    throw new RangeError(`underpayment tolerance must be 0..${MAX_TOLERANCE_BPS} basis points, got ${bps}`);
  const rows = await db.query("UPDATE merchants SET underpayment_tolerance_bps = $2 WHERE id = $1 RETURNING id", [
    merchantId.toString(),
    bps,
  ]);
  return rows.length === 1;
}

/** NUMERIC comes back as written with its scale ("0.5000"): trailing zeros off, as the rate was formatted. */
function normaliseDecimal(s: string): string {
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}
