import type { Hex, PrivateKeyAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { SecretBox } from "./secretBox.js";

/** The gateway-held payout key of a merchant, opened; or why it cannot sign for the merchant. */
export type OpenedPayoutKey =
  | { ok: true; account: PrivateKeyAccount }
  /** no sealed key, or no registered signer to sign as */
  | { ok: false; problem: "missing" }
  /** the master key does not open it */
  | { ok: false; problem: "unreadable" }
  /** it opens to another address than the registered signer (changed by hand): the vault would refuse its signatures */
  | { ok: false; problem: "mismatch" };

/**
 * Opens a merchant's gateway-held payout key (payoutKeyMode gateway) for signing, for the API's and the
 * console's approvals alike. Never carries the key, or an error about it, out: the caller turns a problem
 * into its own message.
 */
export function openGatewayPayoutKey(
  box: SecretBox,
  merchant: { payoutSigner: string | null; payoutKeySealed: Buffer | null },
): OpenedPayoutKey {
  if (!merchant.payoutSigner || !merchant.payoutKeySealed) return { ok: false, problem: "missing" };
  let account: PrivateKeyAccount;
  try {
    account = privateKeyToAccount(box.open(merchant.payoutKeySealed) as Hex);
  } catch {
    return { ok: false, problem: "unreadable" };
  }
  if (account.address.toLowerCase() !== merchant.payoutSigner.toLowerCase()) return { ok: false, problem: "mismatch" };
  return { ok: true, account };
}
