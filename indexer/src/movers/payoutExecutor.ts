import { encodeFunctionData, type Address } from "viem";
import type { Db } from "../store/db.js";
import { listExecutablePayouts, markPayoutBroadcast, markPayoutFailed, type ExecutablePayout } from "../store/payoutOrders.js";
import type { OperatorWallet } from "./operatorWallet.js";
import { VAULT_CALLS_ABI, vaultErrorName } from "./vaultCalls.js";

export type CreatePayoutExecutorParameters = {
  db: Db;
  chainId: number;
  vault: Address;
  wallet: OperatorWallet;
  /** payouts looked at per pass (default 20) */
  batch?: number;
  logger?: { info(o: object): void; warn(o: object): void };
};

export type PayoutOutcome =
  | { id: string; kind: string; outcome: "sent"; txHash: string }
  | { id: string; kind: string; outcome: "failed"; reason: string }
  /** stays approved and is tried again next pass (e.g. the merchant's vault balance is short) */
  | { id: string; kind: string; outcome: "waiting"; reason: string }
  /** the vault already paid this id: the follower settles the order from the PayoutExecuted event */
  | { id: string; kind: string; outcome: "already_paid" };

export type PayoutExecutor = {
  runOnce(): Promise<PayoutOutcome[]>;
};

/** Vault errors after which the same signed payout can never succeed. */
const FINAL_ERRORS = new Set(["VaultPayoutExpired", "VaultInvalidSignature", "VaultUnknownMerchant", "VaultTokenNotAllowed", "VaultRecipientIsVault", "VaultZeroAddress", "VaultZeroAmount"]);

/**
 * Executes approved, merchant-signed refunds, withdrawals and settlements as `vault.payout(p, signature)`,
 * relayed by the operator (who cannot change a signed field). Each payout is simulated first: a vault error
 * that can never pass fails the order with its reason; a short balance keeps it approved for a later pass.
 * Success is not decided here: the follower settles the order when `PayoutExecuted` reaches the required
 * depth. The vault's payout-id replay protection makes a second send harmless; the executor also checks
 * `isPayoutIdUsed` and never signs a payout twice while its first transaction is pending.
 */
export function createPayoutExecutor(args: CreatePayoutExecutorParameters): PayoutExecutor {
  const { db, chainId, vault, wallet, batch = 20, logger } = args;
  const client = wallet.publicClient;

  async function execute(p: ExecutablePayout): Promise<PayoutOutcome> {
    const base = { id: p.id, kind: p.kind };
    const now = BigInt(Math.floor(Date.now() / 1000));
    if (p.deadline < now) {
      await markPayoutFailed(db, p.kind, p.id, `the signed payout expired at ${new Date(Number(p.deadline) * 1000).toISOString()}`);
      return { ...base, outcome: "failed", reason: "deadline passed" };
    }
    const used = await client.readContract({ address: vault, abi: VAULT_CALLS_ABI, functionName: "isPayoutIdUsed", args: [p.merchantId, p.payoutId] });
    if (used) return { ...base, outcome: "already_paid" };
    const data = encodeFunctionData({
      abi: VAULT_CALLS_ABI,
      functionName: "payout",
      args: [{ ...p.payout, kind: Number(p.payout.kind) }, p.signature],
    });
    let gas: bigint;
    try {
      gas = await client.estimateGas({ account: wallet.address, to: vault, data });
    } catch (e) {
      const name = vaultErrorName(e) ?? "unknown revert";
      if (name === "VaultPayoutIdUsed") return { ...base, outcome: "already_paid" };
      if (FINAL_ERRORS.has(name)) {
        await markPayoutFailed(db, p.kind, p.id, `the vault refuses this payout: ${name}`);
        return { ...base, outcome: "failed", reason: name };
      }
      logger?.warn({ msg: "payout not executable yet", chain_id: chainId, kind: p.kind, id: p.id, reason: name });
      return { ...base, outcome: "waiting", reason: name };
    }
    const txHash = await wallet.send({ to: vault, data, gas: (gas * 12n) / 10n, purpose: "payout", refId: p.id, refKind: p.kind });
    await markPayoutBroadcast(db, p.kind, p.id, txHash);
    logger?.info({ msg: "payout sent", chain_id: chainId, kind: p.kind, id: p.id, payout_id: p.payoutId.toString(), tx_hash: txHash });
    return { ...base, outcome: "sent", txHash };
  }

  return {
    async runOnce() {
      const out: PayoutOutcome[] = [];
      for (const p of await listExecutablePayouts(db, { chainId, limit: batch })) {
        // a payout with a pending transaction is the wallet's to finish (replace or drop), not to send again
        const [pending] = await db.query("SELECT 1 FROM operator_txs WHERE ref_id = $1 AND status = 'pending' LIMIT 1", [p.id]);
        if (pending) continue;
        out.push(await execute(p));
      }
      return out;
    },
  };
}
