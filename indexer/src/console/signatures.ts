import { getAddress, isAddressEqual, recoverAddress, type Address, type Hex } from "viem";
import { verifyHash } from "viem/actions";
import type { ConsoleContext } from "./context.js";

export type SignatureCheck =
  /** an ECDSA signature by the address (an ordinary wallet) */
  | { ok: true; by: "ecdsa" }
  /** the address is a contract that approved the hash (ERC-1271, e.g. a Safe), asked over the chain's RPC */
  | { ok: true; by: "erc1271" }
  | { ok: false; reason: "mismatch" | "no_rpc" | "rpc_failed"; recovered: Address | null };

/**
 * Whether `address` signed `hash`, the way the vault decides it for payouts: an ECDSA signature first;
 * else, on a chain with an RPC, the address's ERC-1271 `isValidSignature` (viem's verifyHash, which also
 * understands ERC-6492 wrappers of counterfactual wallets).
 */
export async function checkSignature(
  ctx: ConsoleContext,
  p: { chainId: number; address: string; hash: Hex; signature: Hex },
): Promise<SignatureCheck> {
  const address = getAddress(p.address);
  let recovered: Address | null = null;
  try {
    recovered = await recoverAddress({ hash: p.hash, signature: p.signature });
    if (isAddressEqual(recovered, address)) return { ok: true, by: "ecdsa" };
  } catch {
    // not a 65-byte ECDSA signature: a contract wallet's signature may be any bytes
  }
  const client = ctx.client(p.chainId);
  if (!client) return { ok: false, reason: "no_rpc", recovered };
  try {
    return (await verifyHash(client, { address, hash: p.hash, signature: p.signature }))
      ? { ok: true, by: "erc1271" }
      : { ok: false, reason: "mismatch", recovered };
  } catch {
    return { ok: false, reason: "rpc_failed", recovered };
  }
}
