import { formatAmount } from "../domain/money.js";
import type { Queryable } from "./db.js";

/**
 * A merchant's statement for a period (seed 002's "bill"): every payment, refund, recharge, withdrawal,
 * settlement and fee of the period as lines, and totals per (chain, token) in base units and human
 * amounts. One module behind both the `GET /api/mer/bill` route and the `bill` CLI.
 *
 * Lines are selected by their creation time in `[from, to)`. Optional tables written by other parts
 * (settlements, the sweep ledger) are used when their migration is present, so the statement never
 * depends on them being installed.
 */

export type StatementLineKind = "payment" | "refund" | "recharge" | "withdrawal" | "settlement" | "fee";

export type StatementLine = {
  kind: StatementLineKind;
  id: string;
  /** the merchant's own reference (merchantOrderId, merchantRefundId, uuid, …) */
  merchantRef: string | null;
  chainId: number;
  token: string;
  tokenSymbol: string;
  decimals: number;
  /** the order's state code (payment 0..4/-1..-3, payout 0..3/-1/-2, recharge 2..4/-1) */
  state: number | null;
  /** due amount for payments, the moved amount for everything else */
  amount: bigint;
  /** what arrived (payments: confirmed paid amount, late payments included); null elsewhere */
  paid: bigint | null;
  /** platform fee attributed to this line (fee_bps estimate), null when none */
  fee: bigint | null;
  /** payer, recipient or deposit address */
  counterparty: string | null;
  txHash: string | null;
  /** the payment order a refund belongs to */
  relatedId: string | null;
  time: Date;
};

export type StatementTotals = {
  chainId: number;
  token: string;
  tokenSymbol: string;
  decimals: number;
  /** sum of payments' paid amounts */
  received: bigint;
  /** confirmed recharges */
  recharged: bigint;
  refunded: bigint;
  refundsPending: bigint;
  withdrawn: bigint;
  withdrawalsPending: bigint;
  settled: bigint;
  fees: bigint;
  /** received + recharged - fees - refunded - withdrawn - settled (may be negative) */
  net: bigint;
};

export const TOTAL_FIELDS = [
  "received",
  "recharged",
  "refunded",
  "refundsPending",
  "withdrawn",
  "withdrawalsPending",
  "settled",
  "fees",
  "net",
] as const;

export type FeeSource = "sweep_ledger" | "vault_events" | "fee_bps";

export type Statement = {
  merchantId: bigint;
  from: Date;
  to: Date;
  generatedAt: Date;
  feeBps: number;
  /** where the fee lines come from: H5's sweep ledger, confirmed `Swept` vault events, or an estimate from the merchant's fee_bps */
  feeSource: FeeSource;
  lines: StatementLine[];
  totals: StatementTotals[];
};

export type TokenInfo = { symbol: string; decimals: number };
/** Symbol and decimals of a configured token (addresses lowercase); undefined when not configured. */
export type TokenLookup = (chainId: number, address: string) => TokenInfo | undefined;

const DATE = /^(\d{4}-\d{2}-\d{2})$/;
const DATETIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?)(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Parses a period bound: `YYYY-MM-DD`, `YYYY-MM-DD HH:mm[:ss]` or ISO 8601, UTC unless an offset is
 * given. A date-only `to` means the end of that day (the statement for "2026-12-01 .. 2026-12-31"
 * includes the 31st); any other `to` is exclusive.
 */
export function parsePeriodBound(value: string, which: "from" | "to"): Date | null {
  let d: Date;
  const date = DATE.exec(value);
  if (date) {
    d = new Date(`${date[1]}T00:00:00Z`);
    if (which === "to") d = new Date(d.getTime() + 86_400_000);
  } else {
    const m = DATETIME.exec(value);
    if (!m) return null;
    d = new Date(`${m[1]}T${m[2]}${m[5] ?? "Z"}`);
  }
  return Number.isNaN(d.getTime()) ? null : d;
}

const big = (v: unknown) => BigInt(v as string);
const num = (v: unknown) => Number(v);

async function tableExists(db: Queryable, name: string): Promise<boolean> {
  const [r] = await db.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [name]);
  return !!r?.t;
}

async function columnsOf(db: Queryable, table: string): Promise<Set<string>> {
  const rows = await db.query<{ column_name: string }>(
    "SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND table_schema = ANY (current_schemas(false))",
    [table],
  );
  return new Set(rows.map((r) => r.column_name));
}

/** Builds the statement. Throws nothing for an empty period: the statement is then empty. */
export async function buildStatement(
  db: Queryable,
  args: { merchantId: bigint; from: Date; to: Date; tokens?: TokenLookup; now?: Date },
): Promise<Statement> {
  const { merchantId, from, to } = args;
  const [merchant] = await db.query<{ fee_bps: number }>("SELECT fee_bps FROM merchants WHERE id = $1", [merchantId]);
  const feeBps = merchant ? num(merchant.fee_bps) : 0;
  const known = new Map<string, TokenInfo>();
  const info = (chainId: number, address: string): TokenInfo => {
    const key = `${chainId}:${address.toLowerCase()}`;
    return known.get(key) ?? args.tokens?.(chainId, address.toLowerCase()) ?? { symbol: "", decimals: 0 };
  };
  const period = [merchantId, from, to];
  const lines: StatementLine[] = [];

  const payments = await db.query(
    `SELECT id, merchant_order_id, chain_id, token_address, token_symbol, token_decimals, amount, paid_amount, status,
            payer_address, receipt_address, created_at
       FROM payment_orders WHERE merchant_id = $1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at, id`,
    period,
  );
  for (const p of payments) {
    known.set(`${num(p.chain_id)}:${p.token_address}`, { symbol: p.token_symbol, decimals: num(p.token_decimals) });
    lines.push({
      kind: "payment",
      id: p.id,
      merchantRef: p.merchant_order_id,
      chainId: num(p.chain_id),
      token: p.token_address,
      tokenSymbol: p.token_symbol,
      decimals: num(p.token_decimals),
      state: num(p.status),
      amount: big(p.amount),
      paid: big(p.paid_amount),
      fee: null,
      counterparty: p.payer_address ?? p.receipt_address,
      txHash: null,
      relatedId: null,
      time: new Date(p.created_at),
    });
  }

  const refunds = await db.query(
    `SELECT r.id, r.merchant_refund_id, r.pay_order_id, r.amount, r.status, r.to_address, r.tx_hash, r.created_at,
            p.chain_id, p.token_address, p.token_symbol, p.token_decimals
       FROM refund_orders r JOIN payment_orders p ON p.id = r.pay_order_id
      WHERE r.merchant_id = $1 AND r.created_at >= $2 AND r.created_at < $3 ORDER BY r.created_at, r.id`,
    period,
  );
  for (const r of refunds) {
    lines.push({
      kind: "refund",
      id: r.id,
      merchantRef: r.merchant_refund_id,
      chainId: num(r.chain_id),
      token: r.token_address,
      tokenSymbol: r.token_symbol,
      decimals: num(r.token_decimals),
      state: num(r.status),
      amount: big(r.amount),
      paid: null,
      fee: null,
      counterparty: r.to_address,
      txHash: r.tx_hash,
      relatedId: r.pay_order_id,
      time: new Date(r.created_at),
    });
  }

  const recharges = await db.query(
    `SELECT r.id, u.uuid, r.chain_id, r.token_address, r.amount, r.status, r.from_address, r.tx_hash, r.created_at
       FROM recharge_orders r JOIN users u ON u.id = r.user_id
      WHERE r.merchant_id = $1 AND r.created_at >= $2 AND r.created_at < $3 ORDER BY r.created_at, r.id`,
    period,
  );
  for (const r of recharges) {
    const t = info(num(r.chain_id), r.token_address);
    lines.push({
      kind: "recharge",
      id: r.id,
      merchantRef: r.uuid,
      chainId: num(r.chain_id),
      token: r.token_address,
      tokenSymbol: t.symbol,
      decimals: t.decimals,
      state: num(r.status),
      amount: big(r.amount),
      paid: null,
      fee: null,
      counterparty: r.from_address,
      txHash: r.tx_hash,
      relatedId: null,
      time: new Date(r.created_at),
    });
  }

  const withdrawals = await db.query(
    `SELECT w.id, COALESCE(a.out_trade_no, w.merchant_withdraw_id) AS merchant_withdraw_id, w.chain_id, w.token_address, w.amount, w.status,
            w.to_address, w.tx_hash, w.created_at
       FROM withdrawal_orders w LEFT JOIN withdrawals a ON a.id = w.withdraw_id
       WHERE w.merchant_id = $1 AND w.created_at >= $2 AND w.created_at < $3 ORDER BY w.created_at, w.id`,
    period,
  );
  for (const w of withdrawals) {
    const t = info(num(w.chain_id), w.token_address);
    lines.push({
      kind: "withdrawal",
      id: w.id,
      merchantRef: w.merchant_withdraw_id,
      chainId: num(w.chain_id),
      token: w.token_address,
      tokenSymbol: t.symbol,
      decimals: t.decimals,
      state: num(w.status),
      amount: big(w.amount),
      paid: null,
      fee: null,
      counterparty: w.to_address,
      txHash: w.tx_hash,
      relatedId: null,
      time: new Date(w.created_at),
    });
  }

  lines.push(...(await settlementLines(db, period, info)));

  const ledger = await sweepLedgerFeeLines(db, period, info);
  let feeSource: FeeSource;
  if (ledger) {
    feeSource = "sweep_ledger";
    lines.push(...ledger);
  } else {
    const swept = await sweptFeeLines(db, period, info);
    if (swept.length) {
      feeSource = "vault_events";
      lines.push(...swept);
    } else {
      // no sweep yet: what the vault will deduct, per line (the vault rounds per sweep group, so the
      // charged fee can differ from this estimate by less than one base unit per line)
      feeSource = "fee_bps";
      for (const l of lines) {
        const base = l.kind === "payment" ? l.paid! : l.kind === "recharge" && l.state === 4 ? l.amount : 0n;
        if (base > 0n && feeBps > 0) l.fee = (base * BigInt(feeBps)) / 10_000n;
      }
    }
  }

  lines.sort((a, b) => a.time.getTime() - b.time.getTime() || a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
  return { merchantId, from, to, generatedAt: args.now ?? new Date(), feeBps, feeSource, lines, totals: totalsOf(lines) };
}

/** Totals per (chain, token). Pending payouts are listed apart and not subtracted from `net`. */
export function totalsOf(lines: StatementLine[]): StatementTotals[] {
  const by = new Map<string, StatementTotals>();
  for (const l of lines) {
    const key = `${l.chainId}:${l.token}`;
    let t = by.get(key);
    if (!t) {
      t = {
        chainId: l.chainId,
        token: l.token,
        tokenSymbol: l.tokenSymbol,
        decimals: l.decimals,
        received: 0n,
        recharged: 0n,
        refunded: 0n,
        refundsPending: 0n,
        withdrawn: 0n,
        withdrawalsPending: 0n,
        settled: 0n,
        fees: 0n,
        net: 0n,
      };
      by.set(key, t);
    }
    if (l.fee !== null) t.fees += l.fee;
    const payoutDone = l.state === 3;
    const payoutOpen = l.state === 0 || l.state === 1 || l.state === 2;
    switch (l.kind) {
      case "payment":
        t.received += l.paid ?? 0n;
        break;
      case "recharge":
        if (l.state === 4) t.recharged += l.amount;
        break;
      case "refund":
        if (payoutDone) t.refunded += l.amount;
        else if (payoutOpen) t.refundsPending += l.amount;
        break;
      case "withdrawal":
        if (payoutDone) t.withdrawn += l.amount;
        else if (payoutOpen) t.withdrawalsPending += l.amount;
        break;
      case "settlement":
        if (l.state === null || payoutDone) t.settled += l.amount;
        break;
      case "fee":
        t.fees += l.amount;
        break;
    }
  }
  for (const t of by.values()) t.net = t.received + t.recharged - t.fees - t.refunded - t.withdrawn - t.settled;
  return [...by.values()].sort((a, b) => a.chainId - b.chainId || a.token.localeCompare(b.token));
}

/** Settlements (H1's migration 002) when the table exists; the column names are probed, not assumed. */
async function settlementLines(db: Queryable, period: unknown[], info: (c: number, a: string) => TokenInfo): Promise<StatementLine[]> {
  const table = (await tableExists(db, "settlement_orders"))
    ? "settlement_orders"
    : (await tableExists(db, "settlements"))
      ? "settlements"
      : null;
  if (!table) return [];
  const cols = await columnsOf(db, table);
  const need = ["id", "merchant_id", "chain_id", "token_address", "amount", "created_at"];
  if (!need.every((c) => cols.has(c))) return [];
  const opt = (c: string) => (cols.has(c) ? c : "NULL");
  const rows = await db.query(
    `SELECT id, chain_id, token_address, amount, created_at, ${opt("status")} AS status, ${opt("tx_hash")} AS tx_hash,
            ${opt("to_address")} AS to_address, ${cols.has("merchant_settlement_id") ? "merchant_settlement_id" : "NULL"} AS ref
       FROM ${table} WHERE merchant_id = $1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at, id`,
    period,
  );
  return rows.map((s) => {
    const t = info(num(s.chain_id), s.token_address);
    return {
      kind: "settlement" as const,
      id: String(s.id),
      merchantRef: s.ref ?? null,
      chainId: num(s.chain_id),
      token: s.token_address,
      tokenSymbol: t.symbol,
      decimals: t.decimals,
      state: s.status === null ? null : num(s.status),
      amount: big(s.amount),
      paid: null,
      fee: null,
      counterparty: s.to_address ?? null,
      txHash: s.tx_hash ?? null,
      relatedId: null,
      time: new Date(s.created_at),
    };
  });
}

/** Fees from H5's sweep ledger (migration 006) when present: null when the table is absent. */
async function sweepLedgerFeeLines(
  db: Queryable,
  period: unknown[],
  info: (c: number, a: string) => TokenInfo,
): Promise<StatementLine[] | null> {
  for (const table of ["sweep_ledger", "ledger_entries", "sweep_credits"]) {
    if (!(await tableExists(db, table))) continue;
    const cols = await columnsOf(db, table);
    const token = cols.has("token_address") ? "token_address" : cols.has("token") ? "token" : null;
    if (!token || !cols.has("fee") || !cols.has("merchant_id") || !cols.has("chain_id") || !cols.has("created_at")) continue;
    const rows = await db.query(
      `SELECT ${cols.has("id") ? "id::text" : "NULL"} AS id, chain_id, ${token} AS token, fee, ${cols.has("tx_hash") ? "tx_hash" : "NULL"} AS tx_hash, created_at
         FROM ${table} WHERE merchant_id = $1 AND created_at >= $2 AND created_at < $3 AND fee > 0 ORDER BY created_at`,
      period,
    );
    return rows.map((r, i) =>
      feeLine(String(r.id ?? `${table}-${i}`), num(r.chain_id), r.token, big(r.fee), r.tx_hash, new Date(r.created_at), info),
    );
  }
  return null;
}

/** Fees the vault actually charged: confirmed `Swept` events of the merchant in the period. */
async function sweptFeeLines(db: Queryable, period: unknown[], info: (c: number, a: string) => TokenInfo): Promise<StatementLine[]> {
  const rows = await db.query(
    `SELECT chain_id, tx_hash, log_index, args, created_at FROM chain_vault_events
      WHERE name = 'Swept' AND status = 'confirmed' AND (args->>'merchantId')::numeric = $1 AND created_at >= $2 AND created_at < $3
      ORDER BY block_number, log_index`,
    period,
  );
  return rows
    .filter((r) => BigInt(r.args.fee) > 0n)
    .map((r) =>
      feeLine(
        `${r.tx_hash}:${r.log_index}`,
        num(r.chain_id),
        String(r.args.token).toLowerCase(),
        BigInt(r.args.fee),
        r.tx_hash,
        new Date(r.created_at),
        info,
      ),
    );
}

function feeLine(
  id: string,
  chainId: number,
  token: string,
  amount: bigint,
  txHash: string | null,
  time: Date,
  info: (c: number, a: string) => TokenInfo,
): StatementLine {
  const t = info(chainId, token);
  return {
    kind: "fee",
    id,
    merchantRef: null,
    chainId,
    token,
    tokenSymbol: t.symbol,
    decimals: t.decimals,
    state: null,
    amount,
    paid: null,
    fee: null,
    counterparty: null,
    txHash,
    relatedId: null,
    time,
  };
}

// ------------------------------------------------------------------ output

/** Human amount of a possibly negative base-unit value. */
export function signedAmount(v: bigint, decimals: number): string {
  return v < 0n ? `-${formatAmount(-v, decimals)}` : formatAmount(v, decimals);
}

const time = (d: Date) => d.toISOString().replace("T", " ").slice(0, 19);

/** The statement as JSON-ready data: every amount as a human string and a base-unit string. */
export function statementToJson(s: Statement) {
  return {
    merchantId: s.merchantId.toString(),
    from: time(s.from),
    to: time(s.to),
    generatedAt: time(s.generatedAt),
    feeBps: s.feeBps,
    feeSource: s.feeSource,
    lines: s.lines.map((l) => ({
      kind: l.kind,
      id: l.id,
      merchantRef: l.merchantRef,
      relatedId: l.relatedId,
      chainId: l.chainId,
      token: l.token,
      tokenSymbol: l.tokenSymbol,
      state: l.state,
      amount: formatAmount(l.amount, l.decimals),
      amountBaseUnits: l.amount.toString(),
      paidAmount: l.paid === null ? null : formatAmount(l.paid, l.decimals),
      paidBaseUnits: l.paid === null ? null : l.paid.toString(),
      fee: l.fee === null ? null : formatAmount(l.fee, l.decimals),
      feeBaseUnits: l.fee === null ? null : l.fee.toString(),
      counterparty: l.counterparty,
      txHash: l.txHash,
      time: time(l.time),
    })),
    totals: s.totals.map((t) => ({
      chainId: t.chainId,
      token: t.token,
      tokenSymbol: t.tokenSymbol,
      decimals: t.decimals,
      ...(Object.fromEntries(
        TOTAL_FIELDS.flatMap((f) => [
          [f, signedAmount(t[f], t.decimals)],
          [`${f}BaseUnits`, t[f].toString()],
        ]),
      ) as Record<string, string>),
    })),
  };
}

export const CSV_COLUMNS = [
  "kind",
  "id",
  "merchantRef",
  "relatedId",
  "chainId",
  "token",
  "tokenSymbol",
  "state",
  "amount",
  "amountBaseUnits",
  "paidAmount",
  "paidBaseUnits",
  "fee",
  "feeBaseUnits",
  "counterparty",
  "txHash",
  "time",
] as const;

/**
 * RFC 4180 field: quoted when it holds a comma, quote, CR or LF (quotes doubled). Text that a
 * spreadsheet would run as a formula (= + - @ at the start, not a number) gets a leading apostrophe.
 */
export function csvField(v: unknown): string {
  let s = v === null || v === undefined ? "" : String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?[0-9]+(\.[0-9]+)?$/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The statement as CSV: one header, one row per line, then one row per (token, total) with kind
 * `total`, id = the total's name (received, refunded, …, net) and the amount columns filled.
 */
export function statementToCsv(s: Statement): string {
  const j = statementToJson(s);
  const rows: unknown[][] = [CSV_COLUMNS as unknown as string[]];
  for (const l of j.lines) rows.push(CSV_COLUMNS.map((c) => (l as Record<string, unknown>)[c]));
  for (const t of j.totals) {
    for (const f of TOTAL_FIELDS) {
      const row: Record<string, unknown> = {
        kind: "total",
        id: f,
        chainId: t.chainId,
        token: t.token,
        tokenSymbol: t.tokenSymbol,
        amount: (t as Record<string, unknown>)[f],
        amountBaseUnits: (t as Record<string, unknown>)[`${f}BaseUnits`],
        time: j.to,
      };
      rows.push(CSV_COLUMNS.map((c) => row[c]));
    }
  }
  return rows.map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}
