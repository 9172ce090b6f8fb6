import type { ConsoleOrder, ConsoleOrderFilter, ConsoleOrderKind } from "../store/consoleQueries.js";
import type { ConsoleContext } from "./context.js";
import { tokenOf } from "./format.js";
import type { T } from "./views/layout.js";
import { formatAmount } from "../domain/money.js";

/** Every state each kind of order can be in, in the order a person reads them. */
export const STATES: Record<ConsoleOrderKind, readonly number[]> = {
  payment: [0, 1, 2, 3, 4, -1, -2, -3],
  refund: [0, 1, 2, 3, -1, -2],
  withdrawal: [0, 1, 2, 3, -1, -2],
  settlement: [0, 1, 2, 3, -1, -2],
  recharge: [2, 3, 4, -1],
};

/** The catalog key of a state's name. */
export function stateKey(kind: ConsoleOrderKind, status: number) {
  const group = kind === "payment" ? "payment" : kind === "recharge" ? "recharge" : "payout";
  return `state.${group}.${status}` as const;
}

/** A state's name; an unknown code shows as the number. */
export const stateName = (t: T, kind: ConsoleOrderKind, status: number): string =>
  t(stateKey(kind, status) as Parameters<T>[0]) ?? String(status);

/** What a list row, a CSV line and the approval queue show of any order. */
export type OrderSummary = {
  kind: ConsoleOrderKind;
  id: string;
  /** the merchant's own id (recharges: the user's uuid) */
  merchantRef: string;
  chainId: number;
  token: string;
  symbol: string;
  decimals: number;
  /** base units: the amount due (payments), paid out (payouts) or received (recharges) */
  amount: bigint;
  /** payments: confirmed so far */
  paid: bigint | null;
  status: number;
  /** the other side: a payment's payer, a payout's recipient, a recharge's sender */
  counterparty: string | null;
  txHash: string | null;
  createdAt: Date;
};

export function summarize(ctx: ConsoleContext, c: ConsoleOrder): OrderSummary {
  switch (c.kind) {
    case "payment": {
      const o = c.order;
      return {
        kind: c.kind,
        id: o.id,
        merchantRef: o.merchantOrderId,
        chainId: o.chainId,
        token: o.tokenAddress,
        symbol: o.tokenSymbol,
        decimals: o.tokenDecimals,
        amount: o.amount,
        paid: o.paidAmount,
        status: o.status,
        counterparty: o.payerAddress,
        txHash: null,
        createdAt: o.createdAt,
      };
    }
    case "recharge": {
      const o = c.order;
      const tk = tokenOf(ctx, o.chainId, o.tokenAddress);
      return {
        kind: c.kind,
        id: o.id,
        merchantRef: o.uuid,
        chainId: o.chainId,
        token: o.tokenAddress,
        symbol: tk.symbol,
        decimals: tk.decimals,
        amount: o.amount,
        paid: null,
        status: o.status,
        counterparty: o.fromAddress,
        txHash: o.txHash,
        createdAt: o.createdAt,
      };
    }
    default: {
      const o = c.order;
      const tk = tokenOf(ctx, o.chainId, o.tokenAddress);
      return {
        kind: c.kind,
        id: o.id,
        merchantRef: o.merchantRef ?? "",
        chainId: o.chainId,
        token: o.tokenAddress,
        symbol: tk.symbol,
        decimals: o.tokenDecimals ?? tk.decimals,
        amount: o.amount,
        paid: null,
        status: o.status,
        counterparty: o.toAddress,
        txHash: o.txHash,
        createdAt: o.createdAt,
      };
    }
  }
}

export const amountText = (s: Pick<OrderSummary, "decimals" | "symbol">, v: bigint) => `${formatAmount(v, s.decimals)} ${s.symbol}`;

// ------------------------------------------------------------------ the list's query string

export type OrdersQuery = {
  kind?: string;
  state?: string;
  chain?: string;
  /** `<chainId>:<token address>` */
  coin?: string;
  from?: string;
  to?: string;
  ref?: string;
  tx?: string;
  q?: string;
  before?: string;
};

export type ParsedOrdersQuery = {
  kind: ConsoleOrderKind;
  filter: ConsoleOrderFilter;
  before?: string;
  /** the query as given, for the form and the links (only fields that parsed) */
  values: Record<string, string>;
  /** catalog keys of fields that did not parse (ignored) */
  errors: string[];
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TX = /^0x[0-9a-fA-F]{64}$/;
/** order ids (ULIDs today; any short id the store hands out) */
const ID = /^[0-9A-Za-z_.:-]{1,64}$/;

/** Reads the list's filters; a field that does not parse is dropped and named in `errors`. */
export function parseOrdersQuery(q: OrdersQuery, chainIds: readonly number[]): ParsedOrdersQuery {
  const kind = (["payment", "refund", "recharge", "withdrawal", "settlement"] as const).find((k) => k === q.kind) ?? "payment";
  const filter: ConsoleOrderFilter = { chainIds };
  const values: Record<string, string> = { kind };
  const errors: string[] = [];
  const text = (v: string | undefined, max: number) => (typeof v === "string" && v.trim() !== "" ? v.trim().slice(0, max) : undefined);
  const state = text(q.state, 3);
  if (state !== undefined) {
    if (/^-?\d$/.test(state) && STATES[kind].includes(Number(state))) {
      filter.status = Number(state);
      values.state = state;
    } else errors.push("filter.badState");
  }
  const chain = text(q.chain, 12);
  if (chain !== undefined) {
    if (/^\d+$/.test(chain) && chainIds.includes(Number(chain))) {
      filter.chainId = Number(chain);
      values.chain = chain;
    } else errors.push("filter.badChain");
  }
  const coin = text(q.coin, 60);
  if (coin !== undefined) {
    const m = /^(\d+):(0x[0-9a-fA-F]{40})$/.exec(coin);
    if (m && chainIds.includes(Number(m[1]))) {
      filter.tokenAddress = m[2]!.toLowerCase();
      if (filter.chainId === undefined) filter.chainId = Number(m[1]);
      values.coin = coin;
    } else errors.push("filter.badCoin");
  }
  for (const which of ["from", "to"] as const) {
    const d = text(q[which], 10);
    if (d === undefined) continue;
    const date = new Date(`${d}T00:00:00Z`);
    if (DATE.test(d) && !Number.isNaN(date.getTime())) {
      // a date-only "to" includes that day
      filter[which] = which === "to" ? new Date(date.getTime() + 86_400_000) : date;
      values[which] = d;
    } else errors.push("filter.badDate");
  }
  const ref = text(q.ref, 128);
  if (ref !== undefined) {
    filter.ref = ref;
    values.ref = ref;
  }
  const tx = text(q.tx, 66);
  if (tx !== undefined) {
    if (TX.test(tx)) {
      filter.txHash = tx.toLowerCase();
      values.tx = tx;
    } else errors.push("filter.badTx");
  }
  const search = text(q.q, 100);
  if (search !== undefined) {
    filter.q = search;
    values.q = search;
  }
  const before = ID.test(q.before ?? "") ? q.before : undefined;
  return { kind, filter, before, values, errors };
}
