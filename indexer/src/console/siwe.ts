import { getAddress, type Address } from "viem";
import { createSiweMessage, generateSiweNonce, parseSiweMessage, validateSiweMessage } from "viem/siwe";
import type { ConsoleContext } from "./context.js";

/** How long a sign-in message may be signed after it was issued. */
export const SIGNIN_MESSAGE_TTL_SECONDS = 10 * 60;

export const newSigninNonce = () => generateSiweNonce();

/**
 * The EIP-4361 message a wallet signs to open the console: this gateway's host and console URL, the chain
 * the wallet is on (one the gateway knows, so an ERC-1271 signer can be asked over its RPC), a single-use
 * nonce and an expiry. The statement is ASCII, as EIP-4361 requires.
 */
export function signinMessage(ctx: ConsoleContext, p: { address: Address; chainId: number; nonce: string; now: Date }): string {
  return createSiweMessage({
    domain: ctx.publicUrl.host,
    scheme: ctx.publicUrl.protocol.replace(":", ""),
    address: getAddress(p.address),
    statement: "Sign in to the merchant console. This signature moves no funds and costs nothing.",
    uri: `${ctx.origin}${ctx.base}`,
    version: "1",
    chainId: p.chainId,
    nonce: p.nonce,
    issuedAt: p.now,
    expirationTime: new Date(p.now.getTime() + SIGNIN_MESSAGE_TTL_SECONDS * 1000),
  });
}

export type SigninMessageCheck =
  | { ok: true; address: Address; chainId: number; nonce: string }
  | { ok: false; reason: "malformed" | "domain" | "uri" | "chain" | "expired" | "issued_at" };

/**
 * Checks a signed sign-in message's fields against this console (not yet its signature or nonce): parsed
 * as EIP-4361, this host and scheme, this console's URI, a configured chain, issued in the past and not
 * expired, and no longer-lived than the messages the console issues. A message made for another site, or
 * edited after it was issued, fails here or at the signature.
 */
export function checkSigninMessage(ctx: ConsoleContext, text: string, now: Date): SigninMessageCheck {
  let m: ReturnType<typeof parseSiweMessage>;
  try {
    m = parseSiweMessage(text);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (!m.address || !m.nonce || m.chainId === undefined || !m.issuedAt || !m.expirationTime) return { ok: false, reason: "malformed" };
  if (m.domain !== ctx.publicUrl.host || (m.scheme !== undefined && m.scheme !== ctx.publicUrl.protocol.replace(":", ""))) {
    return { ok: false, reason: "domain" };
  }
  if (m.uri !== `${ctx.origin}${ctx.base}`) return { ok: false, reason: "uri" };
  if (!ctx.chain(m.chainId)) return { ok: false, reason: "chain" };
  const issued = m.issuedAt.getTime();
  if (Number.isNaN(issued) || issued > now.getTime() + 60_000) return { ok: false, reason: "issued_at" };
  if (m.expirationTime.getTime() - issued > SIGNIN_MESSAGE_TTL_SECONDS * 1000) return { ok: false, reason: "expired" };
  if (now.getTime() >= m.expirationTime.getTime()) return { ok: false, reason: "expired" };
  // the rest of EIP-4361's rules: version 1, the nonce's form, notBefore, a valid address
  if (!validateSiweMessage({ message: m, domain: ctx.publicUrl.host, time: now })) return { ok: false, reason: "malformed" };
  return { ok: true, address: getAddress(m.address), chainId: m.chainId, nonce: m.nonce };
}
