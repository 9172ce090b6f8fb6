import { getAddress, numberToHex } from "viem";
import { DepositKind, depositSalt } from "../domain/depositAddress.js";
import { type PaymentStatus, PayoutStatus, refundableAmount } from "../domain/orderStateMachine.js";
import { payoutTypedData } from "../domain/payoutTypedData.js";
import type { PaymentOrderRecord, PaymentOrderView } from "../store/paymentOrders.js";
import { payoutMessage, type PayoutApplication, type PayoutOrderKind, type PayoutOrderRecord } from "../store/payoutOrders.js";
import { confirmationsOf } from "../store/paymentTransfers.js";
import type { RechargeOrderRecord } from "../store/rechargeOrders.js";
import type { CurrencyRecord } from "../store/currencies.js";
import type { UserRecord } from "../store/users.js";
import { TOTAL_FIELDS, type Statement } from "../store/statements.js";
import { units } from "./amounts.js";
import type { ChainRuntime, WireContext } from "./context.js";
import { PAYMENT_STATUS, paymentStatusOf, payoutStatusOf, rechargeStatusOf } from "./status.js";

/**
 * The one place where records become Pay Protocol objects. Each object is built here once and used by the
 * `detail` route, the `list` routes and the callback body alike, so a callback is exactly what `detail`
 * answers at that moment. Field names of Pay Protocol's reference (section 3) first, then the gateway's
 * additions (documented in the OpenAPI document and indexer/README.md).
 */

/** `YYYY-MM-DD HH:mm:ss` in UTC: the form of every time in Pay Protocol's examples (reference 5.7). */
export const formatTime = (d: Date) => d.toISOString().replace("T", " ").slice(0, 19);
const unixSeconds = (d: Date) => Math.floor(d.getTime() / 1000);
const checksum = (a: string) => getAddress(a);
const checksumOrNull = (a: string | null | undefined) => (a ? getAddress(a) : null);
/** Ids are integers on the wire; ours fit a JS number (sequences from 1). */
const int = (v: bigint) => Number(v);

export function currencyOf(w: WireContext, chainId: number, token: string): Pick<CurrencyRecord, "currencyId" | "symbol" | "decimals"> {
  const c = w.currencyOf(chainId, token);
  // a token never configured has no currencyId; 0 says so rather than guessing
  return c ?? { currencyId: 0, symbol: "", decimals: null };
}

// ------------------------------------------------------------------ payments

/** The CREATE2 salt of the order's deposit address (Pay Protocol's `saltHash`): proves the address is the vault's. */
export function saltHashOf(o: Pick<PaymentOrderRecord, "merchantId" | "poolIndex">): string {
  return o.poolIndex === null ? "" : numberToHex(depositSalt(o.merchantId, DepositKind.Payment, o.poolIndex), { size: 32 });
}

/**
 * seed 003's pay URL `<payPageUrl>?accessSign=&merchantOrderId=&payOrderId=&chainCode=` (merchantOrderId =
 * outTradeNo, payOrderId = outPaymentNo). `paymentUrl` is its path and query, as Pay Protocol answers it (the
 * integrator prefixes its payment host); `paymentLink` the whole URL.
 */
export function payLinkOf(w: WireContext, o: Pick<PaymentOrderRecord, "accessSign" | "merchantOrderId" | "id" | "chainId">) {
  const url = new URL(w.payPageUrl);
  url.searchParams.set("accessSign", o.accessSign);
  url.searchParams.set("merchantOrderId", o.merchantOrderId);
  url.searchParams.set("payOrderId", o.id);
  url.searchParams.set("chainCode", w.chain(o.chainId)?.code ?? String(o.chainId));
  return { paymentUrl: `${url.pathname}${url.search}`, paymentLink: url.toString() };
}

/** What createPaymentOrder answers: Pay Protocol's four fields, then what the merchant needs to show the order. */
export function presentCreatedPayment(w: WireContext, o: PaymentOrderRecord) {
  const c = currencyOf(w, o.chainId, o.tokenAddress);
  return {
    outPaymentNo: o.id,
    ...payLinkOf(w, o),
    userWalletAddress: checksum(o.receiptAddress!),
    saltHash: saltHashOf(o),
    outTradeNo: o.merchantOrderId,
    chainId: o.chainId,
    currencyId: c.currencyId,
    symbol: o.tokenSymbol,
    decimals: o.tokenDecimals,
    expectedAmount: units(o.amount),
    paymentStatus: paymentStatusOf({ status: o.status, paidAmount: o.paidAmount, refundPaidAmount: 0n }),
    state: o.status,
    accessSign: o.accessSign,
    expireTime: formatTime(o.expiresAt),
    ...presentQuote(o),
  };
}

/**
 * A fiat order's locked quote (additions; all null for a crypto quote): the rate (units of the currency per
 * whole token), where it came from (the feed rounds read) and until when the amount holds.
 */
export function presentQuote(o: Pick<PaymentOrderRecord, "quote">) {
  const q = o.quote;
  return {
    exchangeRate: q ? q.rate : null,
    rateSources: q
      ? q.sources.map((s) => ({
          pair: s.pair,
          feed: checksum(s.feed),
          roundId: s.roundId,
          answer: s.answer,
          decimals: s.decimals,
          updatedAt: s.updatedAt,
          blockNumber: s.blockNumber,
        }))
      : null,
    quotedTime: q ? formatTime(q.quotedAt) : null,
    rateLockedUntil: q ? formatTime(q.lockedUntil) : null,
  };
}

/** The payment order object (reference 3.4 and 4.2): payment/detail, payment/list and the payment callback. */
export function presentPayment(w: WireContext, v: PaymentOrderView) {
  const c = currencyOf(w, v.chainId, v.tokenAddress);
  const current = (t: PaymentOrderView["transfers"][number]) => t.chainId === v.chainId && t.token === v.tokenAddress;
  let late = 0n;
  let onTime = 0n;
  for (const t of v.transfers) {
    if (t.status === "removed" || !t.counted || !current(t)) continue;
    if (t.late) late += t.amount;
    else onTime += t.amount;
  }
  const over = v.carriedAmount + onTime - v.amount;
  const first = v.transfers.find((t) => t.counted && t.status !== "removed");
  return {
    chainId: v.chainId,
    orgId: int(v.merchantId),
    outTradeNo: v.merchantOrderId,
    outPaymentNo: v.id,
    description: v.description,
    isLegalTender: v.isLegalTender,
    quoteCurrencySymbol: v.quoteSymbol,
    quoteAmount: v.quoteAmount,
    ...presentQuote(v),
    paymentStatus: paymentStatusOf(v),
    paymentType: 1,
    expectedAmount: units(v.amount),
    settlementAmount: units(v.paidAmount),
    settlementCurrencySymbol: v.tokenSymbol,
    transferHash: first?.txHash ?? null,
    userWalletAddress: checksumOrNull(v.receiptAddress),
    fromAddress: checksumOrNull(v.payerAddress),
    createTime: formatTime(v.createdAt),
    arrivalTime: v.paidAt ? unixSeconds(v.paidAt) : null,
    // additions
    state: v.status,
    currencyId: c.currencyId,
    symbol: v.tokenSymbol,
    decimals: v.tokenDecimals,
    chainCode: w.chain(v.chainId)?.code ?? null,
    seenAmount: units(v.seenAmount),
    paidAmount: units(v.paidAmount),
    carriedAmount: units(v.carriedAmount),
    refundedAmount: units(v.refundedAmount),
    refundableAmount: units(refundableAmount(v)),
    refundPaidAmount: units(v.refundPaidAmount),
    lateAmount: units(late),
    overpaidAmount: units(over > 0n ? over : 0n),
    saltHash: saltHashOf(v),
    ...payLinkOf(w, v),
    accessSign: v.accessSign,
    notifyUrl: v.notifyUrl,
    redirectionUrl: v.redirectionUrl,
    expireTime: formatTime(v.expiresAt),
    transfers: v.transfers.map((t) => ({
      chainId: t.chainId,
      transferHash: t.txHash,
      logIndex: t.logIndex,
      blockNumber: t.blockNumber.toString(),
      fromAddress: checksumOrNull(t.from),
      tokenAddress: checksum(t.token),
      currencyId: currencyOf(w, t.chainId, t.token).currencyId,
      amount: units(t.amount),
      confirmations: confirmationsOf(t),
      status: t.status,
      late: t.late,
      counted: t.counted,
      foundBy: t.foundBy,
      matchedTxHashes: t.matchedTxHashes,
    })),
    earlierChoices: v.choices.map((ch) => ({
      chainId: ch.chainId,
      currencyId: currencyOf(w, ch.chainId, ch.tokenAddress).currencyId,
      symbol: ch.tokenSymbol,
      decimals: ch.tokenDecimals,
      userWalletAddress: checksumOrNull(ch.receiptAddress),
      expectedAmount: units(ch.amount),
      seenAmount: units(ch.seenAmount),
      paidAmount: units(ch.paidAmount),
      switchTime: formatTime(ch.switchedAt),
    })),
  };
}

/** payment/payInfo (reference 3.6) and, from countDown on, what the payment page needs. */
export function presentPayInfo(w: WireContext, o: PaymentOrderRecord, orgName: string, now = Date.now()) {
  return {
    countDown: Math.max(0, Math.floor((o.expiresAt.getTime() - now) / 1000)),
    orgName,
    userWalletAddress: checksum(o.receiptAddress!),
    saltHash: saltHashOf(o),
    chainId: o.chainId,
    currencyId: currencyOf(w, o.chainId, o.tokenAddress).currencyId,
    symbol: o.tokenSymbol,
    decimals: o.tokenDecimals,
    expectedAmount: units(o.amount),
    paidAmount: units(o.paidAmount),
    paymentStatus: paymentStatusOf({ status: o.status, paidAmount: o.paidAmount, refundPaidAmount: 0n }),
  };
}

/** payment/payInfo/update (reference 3.7). */
export function presentPayInfoUpdate(w: WireContext, o: PaymentOrderRecord) {
  return {
    expectedAmount: units(o.amount),
    userWalletAddress: checksum(o.receiptAddress!),
    saltHash: saltHashOf(o),
    chainId: o.chainId,
    currencyId: currencyOf(w, o.chainId, o.tokenAddress).currencyId,
    symbol: o.tokenSymbol,
    decimals: o.tokenDecimals,
    paidAmount: units(o.paidAmount),
    ...payLinkOf(w, o),
    expireTime: formatTime(o.expiresAt),
    ...presentQuote(o),
  };
}

// ------------------------------------------------------------------ payouts: refunds, withdrawals, settlements

/** The field names of each payout kind's object (refund 3.10, withdrawal 3.18; settlement: the gateway's, by analogy). */
export const PAYOUT_FIELDS = {
  refund: { id: "refundId", address: "refundAddress", amount: "refundAmount", status: "refundStatus", time: "refundTime" },
  withdrawal: { id: "withdrawId", address: "withdrawAddress", amount: "withdrawAmount", status: "withdrawStatus", time: "withdrawTime" },
  settlement: {
    id: "settlementId",
    address: "settlementAddress",
    amount: "settlementAmount",
    status: "settlementStatus",
    time: "settlementTime",
  },
} as const satisfies Record<PayoutOrderKind, Record<string, string>>;

/** The EIP-712 Payout of a line as JSON (integers as strings), for the signer while it is pending. */
export function payoutTypedDataJson(chain: ChainRuntime, o: PayoutOrderRecord) {
  const data = payoutTypedData({ chainId: chain.chainId, vault: chain.vault, payout: payoutMessage(o) });
  return JSON.parse(JSON.stringify(data, (_, x) => (typeof x === "bigint" ? x.toString() : x)));
}

const joined = (values: (string | null)[]): string | null =>
  values.every((v) => v === null) ? null : values.map((v) => v ?? "").join(",");

/**
 * A refund, withdrawal or settlement object: detail, list and callback. A withdrawal with several recipients
 * shows its addresses, amounts and transaction hashes comma-separated in line order, as Pay Protocol's
 * "Merchant Pro" withdrawals do, and each line in `lines`.
 */
export function presentPayout(w: WireContext, app: PayoutApplication) {
  const f = PAYOUT_FIELDS[app.kind];
  const c = currencyOf(w, app.chainId, app.tokenAddress);
  const chain = w.chain(app.chainId);
  const pending = app.status === PayoutStatus.PendingApproval;
  const first = app.lines[0]!;
  const object: Record<string, unknown> = {
    chainId: app.chainId,
    currencyId: c.currencyId,
    [f.id]: int(app.no),
  };
  if (app.kind === "refund") {
    object.outTradeNo = first.merchantOrderId;
    object.outPaymentNo = first.payOrderId;
  } else {
    object.outTradeNo = app.merchantRef;
  }
  Object.assign(object, {
    [f.address]: app.lines.map((l) => checksum(l.toAddress)).join(","),
    [f.amount]: app.lines.map((l) => units(l.amount)).join(","),
    ...(app.kind === "refund" ? { refundFee: "0" } : {}),
    [f.status]: payoutStatusOf(app.status),
    [f.time]: formatTime(app.createdAt),
    transferHash: joined(app.lines.map((l) => l.txHash)),
    // additions
    state: app.status,
    symbol: c.symbol,
    decimals: c.decimals,
    ...(app.kind === "refund" ? { outRefundNo: app.merchantRef } : {}),
    approvedBy: first.approvedBy,
    reason: app.lines.find((l) => l.reason)?.reason ?? null,
    notifyUrl: app.notifyUrl,
    payoutDeadline: unixSeconds(first.payoutDeadline),
    updateTime: formatTime(new Date(Math.max(...app.lines.map((l) => l.updatedAt.getTime())))),
    lines: app.lines.map((l) => ({
      lineNo: l.lineNo,
      [f.address]: checksum(l.toAddress),
      [f.amount]: units(l.amount),
      payoutId: l.payoutId.toString(),
      [f.status]: payoutStatusOf(l.status),
      state: l.status,
      transferHash: l.txHash,
      reason: l.reason,
      skipReason: l.skipReason,
      ...(pending && l.status === PayoutStatus.PendingApproval && chain ? { payoutTypedData: payoutTypedDataJson(chain, l) } : {}),
    })),
  });
  return object;
}

// ------------------------------------------------------------------ recharges, users, configuration

/** The recharge object (reference 3.16, 4.4): recharge/detail, recharge/list and the recharge callback. */
export function presentRecharge(w: WireContext, r: RechargeOrderRecord) {
  const c = currencyOf(w, r.chainId, r.tokenAddress);
  return {
    chainId: r.chainId,
    rechargeId: int(r.no ?? 0n),
    userId: int(r.userId),
    uuid: r.uuid,
    currencyId: c.currencyId,
    rechargeAmount: units(r.amount),
    rechargeStatus: rechargeStatusOf(r.status),
    transferHash: r.txHash,
    walletId: r.walletId == null ? null : int(r.walletId),
    walletAddress: checksum(r.toAddress),
    fromAddress: checksumOrNull(r.fromAddress),
    createTime: formatTime(r.createdAt),
    blockTime: r.confirmedAt ? formatTime(r.confirmedAt) : null,
    // additions
    state: r.status,
    symbol: c.symbol,
    decimals: c.decimals,
    tokenAddress: checksum(r.tokenAddress),
    logIndex: r.logIndex,
    blockNumber: r.blockNumber.toString(),
  };
}

/** user/detail (reference 3.14); `chainId` keeps the wallets of one chain. */
export function presentUser(u: UserRecord, chainId?: number) {
  return {
    userId: int(u.userId),
    uuid: u.uuid,
    createTime: formatTime(u.createdAt),
    userWallet: u.wallets
      .filter((x) => chainId === undefined || x.chainId === chainId)
      .map((x) => ({ chainId: x.chainId, walletId: int(x.walletId), walletAddress: checksum(x.address) })),
    userType: u.userType,
  };
}

/** An item of conf/list/chain: `chainId` is the EVM chain id (eth_chainId), not a platform-internal number. */
export function presentChain(c: ChainRuntime) {
  const native = c.tokens.find((t) => /^0x0{40}$/i.test(t.address));
  return {
    chainId: c.chainId,
    chainName: c.name,
    chainCode: c.code,
    chainType: "EVM",
    evmChainId: c.chainId,
    confirmations: c.confirmations,
    nativeCurrencySymbol: native?.symbol ?? null,
    vaultAddress: checksum(c.vault),
  };
}

/** An item of conf/list/currency (reference 3.2). `icon` is a generated SVG badge (the gateway keeps no token logos). */
export function presentCurrency(c: CurrencyRecord) {
  return {
    currencyId: c.currencyId,
    chainId: c.chainId,
    name: c.name ?? c.symbol,
    symbol: c.symbol,
    address: checksum(c.address),
    decimals: c.decimals,
    createTime: formatTime(c.createdAt),
    icon: iconOf(c.symbol),
    isNative: /^0x0{40}$/.test(c.address),
  };
}

const icons = new Map<string, string>();
function iconOf(symbol: string): string {
  let icon = icons.get(symbol);
  if (!icon) {
    const text = symbol.slice(0, 4).replace(/[^A-Za-z0-9]/g, "");
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="32" fill="#2f5bd3"/><text x="32" y="38" font-family="sans-serif" font-size="${text.length > 3 ? 14 : 18}" fill="#fff" text-anchor="middle">${text}</text></svg>`;
    icon = `data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}`;
    icons.set(symbol, icon);
  }
  return icon;
}

/** The page of every list route (reference 3.5): `{count, page, size, list}`. */
export const presentPage = <T>(count: number, page: number, size: number, list: T[]) => ({ count, page, size, list });

/** A statement line's status in the code its kind has on the wire (section 5); fee lines have none. */
function lineStatusOf(kind: Statement["lines"][number]["kind"], state: number | null): number | null {
  if (state === null) return null;
  switch (kind) {
    case "payment":
      return PAYMENT_STATUS[state as PaymentStatus] ?? null;
    case "recharge":
      return rechargeStatusOf(state) ?? null;
    case "fee":
      return null;
    default:
      return payoutStatusOf(state) ?? null;
  }
}

/**
 * The statement (bill, the gateway's addition) in the wire's units: every amount an integer string in the
 * token's smallest unit next to `symbol` and `decimals` (net may be negative). The CSV export keeps human
 * amounts beside base units, for spreadsheets.
 */
export function presentStatement(w: WireContext, s: Statement) {
  return {
    orgId: int(s.merchantId),
    from: formatTime(s.from),
    to: formatTime(s.to),
    generateTime: formatTime(s.generatedAt),
    feeBps: s.feeBps,
    feeSource: s.feeSource,
    lines: s.lines.map((l) => ({
      kind: l.kind,
      id: l.id,
      merchantRef: l.merchantRef,
      relatedId: l.relatedId,
      chainId: l.chainId,
      currencyId: currencyOf(w, l.chainId, l.token).currencyId,
      symbol: l.tokenSymbol,
      decimals: l.decimals,
      status: lineStatusOf(l.kind, l.state),
      amount: units(l.amount),
      paidAmount: l.paid === null ? null : units(l.paid),
      fee: l.fee === null ? null : units(l.fee),
      counterparty: checksumOrNull(l.counterparty),
      transferHash: l.txHash,
      time: formatTime(l.time),
    })),
    totals: s.totals.map((t) => ({
      chainId: t.chainId,
      currencyId: currencyOf(w, t.chainId, t.token).currencyId,
      symbol: t.tokenSymbol,
      decimals: t.decimals,
      ...(Object.fromEntries(TOTAL_FIELDS.map((f) => [f, t[f].toString()])) as Record<(typeof TOTAL_FIELDS)[number], string>),
    })),
  };
}
