/**
 * Test helpers for the merchant console: a cookie-keeping HTTP client that signs in with Ethereum, and
 * store-level order fixtures (the console reads the store, so its tests do not go through the merchant API).
 */
import type { Address, Hex } from "viem";
import type { LocalAccount } from "viem/accounts";
import { depositInitCodeHash } from "../src/domain/depositAddress.js";
import { newId } from "../src/domain/ids.js";
import { formatAmount } from "../src/domain/money.js";
import type { Db } from "../src/store/db.js";
import { applyPaymentEvent, createPaymentOrder, type PaymentOrderRecord } from "../src/store/paymentOrders.js";

export type ConsoleResponse = { status: number; headers: Headers; text: string; json: any; location: string | null };

/** A browser in miniature: keeps the console's cookies and sends them back. */
export class ConsoleClient {
  readonly cookies = new Map<string, string>();
  /** every Set-Cookie header received, as sent */
  readonly setCookies: string[] = [];
  constructor(readonly baseUrl: string) {}

  async request(
    method: "GET" | "POST",
    path: string,
    o: { json?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<ConsoleResponse> {
    const headers: Record<string, string> = { ...o.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    let body: string | undefined;
    if (o.json !== undefined) {
      headers["content-type"] = "application/json";
      headers.accept ??= "application/json";
      body = JSON.stringify(o.json);
    } else if (o.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(o.form).toString();
    }
    const res = await fetch(this.baseUrl + path, { method, headers, body, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      this.setCookies.push(c);
      const [pair] = c.split(";");
      const i = pair!.indexOf("=");
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, headers: res.headers, text, json, location: res.headers.get("location") };
  }

  /** The sign-in page's token (for the sign-in posts). */
  async signinToken(): Promise<string> {
    const page = await this.request("GET", "/console/signin");
    const token = /data-token="([^"]+)"/.exec(page.text)?.[1];
    if (!token) throw new Error(`no sign-in token on the page (status ${page.status})`);
    return token;
  }

  /** The message the console asks `address` to sign. */
  async nonce(address: Address, chainId: number, token?: string): Promise<{ message: string; token: string; res: ConsoleResponse }> {
    const t = token ?? (await this.signinToken());
    const res = await this.request("POST", "/console/signin/nonce", { json: { address, chainId }, headers: { "x-csrf-token": t } });
    return { message: res.json?.message, token: t, res };
  }

  async verify(message: string, signature: Hex, token: string): Promise<ConsoleResponse> {
    return this.request("POST", "/console/signin/verify", { json: { message, signature }, headers: { "x-csrf-token": token } });
  }

  /** Signs in as `account` (an EOA); returns the verify answer. */
  async signIn(account: LocalAccount, chainId = 31337): Promise<ConsoleResponse> {
    const { message, token } = await this.nonce(account.address, chainId);
    return this.verify(message, await account.signMessage({ message }), token);
  }

  /** The CSRF token the console's pages carry for this session. */
  async csrf(): Promise<string> {
    const page = await this.request("GET", "/console/settings");
    const token = /<meta name="csrf-token" content="([^"]+)">/.exec(page.text)?.[1];
    if (!token) throw new Error(`no CSRF token (status ${page.status})`);
    return token;
  }

  /** A form post with the session's CSRF token. */
  async post(path: string, form: Record<string, string> = {}): Promise<ConsoleResponse> {
    return this.request("POST", path, { form: { ...form, _csrf: await this.csrf() } });
  }
}

/** A payment order of `merchantId`, paid and confirmed in full (as the chain follower would record it). */
export async function paidPayment(
  db: Db,
  p: {
    merchantId: bigint;
    ref: string;
    chainId: number;
    vault: Address;
    token: string;
    symbol: string;
    decimals: number;
    amount: bigint;
    payer?: string;
  },
): Promise<PaymentOrderRecord> {
  const { order } = await createPaymentOrder(db, {
    id: newId(),
    merchantId: p.merchantId,
    merchantOrderId: p.ref,
    requestHash: p.ref,
    chainId: p.chainId,
    vault: p.vault,
    initCodeHash: depositInitCodeHash(p.vault),
    tokenAddress: p.token,
    tokenSymbol: p.symbol,
    tokenDecimals: p.decimals,
    amount: p.amount,
    notifyUrl: "https://shop.example.test/notify",
    redirectionUrl: null,
    accessSign: "test",
    expiresAt: new Date(Date.now() + 3_600_000),
    // quoted in the token itself (isLegalTender 0), as the merchant API records a crypto quote
    description: `order ${p.ref}`,
    quoteSymbol: p.symbol,
    quoteAmount: formatAmount(p.amount, p.decimals),
    isLegalTender: 0,
  });
  for (const event of [
    { type: "transferSeen", amount: p.amount },
    { type: "transferConfirmed", amount: p.amount },
  ] as const) {
    await applyPaymentEvent(db, { merchantId: p.merchantId, ref: { payOrderId: order.id }, event, poolCooldownSeconds: 60 });
  }
  if (p.payer) await db.query("UPDATE payment_orders SET payer_address = $2 WHERE id = $1", [order.id, p.payer.toLowerCase()]);
  const [row] = await db.query("SELECT * FROM payment_orders WHERE id = $1", [order.id]);
  return { ...order, status: 4, seenAmount: p.amount, paidAmount: p.amount, payerAddress: row!.payer_address };
}
