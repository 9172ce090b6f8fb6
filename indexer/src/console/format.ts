import { getAddress } from "viem";
import { NATIVE_TOKEN } from "../config.js";
import { formatAmount } from "../domain/money.js";
import { escapeHtml as e } from "../web/html.js";
import type { ConsoleContext } from "./context.js";

/** Symbol and decimals of a token of a chain; an unconfigured token shows base units under its short address. */
export function tokenOf(ctx: ConsoleContext, chainId: number, address: string): { symbol: string; decimals: number; known: boolean } {
  const t = ctx.token(chainId, address);
  if (t) return { symbol: t.symbol, decimals: t.decimals, known: true };
  return { symbol: address.toLowerCase() === NATIVE_TOKEN ? "native" : shortAddress(address), decimals: 0, known: false };
}

/** "12.5 USDT" from base units. */
export function money(ctx: ConsoleContext, chainId: number, token: string, value: bigint): string {
  const t = tokenOf(ctx, chainId, token);
  return `${formatAmount(value, t.decimals)} ${t.symbol}`;
}

/** `YYYY-MM-DD HH:mm:ss` in UTC, in a <time> element. */
export function time(d: Date | null | undefined): string {
  if (!d) return "";
  const iso = d.toISOString();
  return `<time datetime="${iso}">${iso.replace("T", " ").slice(0, 19)}</time>`;
}

export const utcText = (d: Date) => d.toISOString().replace("T", " ").slice(0, 19);

export const shortAddress = (a: string) => (a.length > 14 ? `${a.slice(0, 6)}…${a.slice(-4)}` : a);

export const checksummed = (a: string) => {
  try {
    return getAddress(a);
  } catch {
    return a;
  }
};

/** A transaction hash as a link to the chain's explorer when one is known, else as code. */
export function txLink(ctx: ConsoleContext, chainId: number, hash: string | null): string {
  if (!hash) return "";
  const url = ctx.explorerTx(chainId, hash);
  const text = `<code class="hash">${e(hash)}</code>`;
  return url ? `<a href="${e(url)}" rel="noopener noreferrer" target="_blank">${text}</a>` : text;
}

/** An address as a link to the chain's explorer when one is known, checksummed. */
export function addressLink(ctx: ConsoleContext, chainId: number, address: string | null): string {
  if (!address) return "";
  const a = checksummed(address);
  const url = ctx.explorerAddress(chainId, a);
  return url ? `<a href="${e(url)}" rel="noopener noreferrer" target="_blank"><code>${e(a)}</code></a>` : `<code>${e(a)}</code>`;
}
